#!/usr/bin/env python3
"""Checks a loadgen.py run against the database and prints the counts.

Always: every POST answered 201 has its row, no email has two rows (each
POST has its own email, so a second row would be a POST applied twice), no
row comes from an email that was never posted. GETs: a failure is a socket
error or any status but 2xx and 404 (an id not created yet). With
--strict-posts, POSTs must not fail either (anything but 201 and a socket
error); without it, POSTs that failed are counted, and those whose row
exists anyway are reported (a 502 after the replica applied it). Only with
--allow-resend (the rolling restart, where nginx reloads) may the load
generator have resent a request that met a closing keep-alive connection.
Exit status 1 when a check fails.
"""
import argparse
import json
import subprocess
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--name", required=True)
    p.add_argument("--summary", required=True, help="loadgen.py's JSON line")
    p.add_argument("--posts", required=True)
    p.add_argument("--db", required=True, help="libpq URI")
    p.add_argument("--prefix", required=True)
    p.add_argument("--strict-posts", action="store_true")
    p.add_argument("--allow-resend", action="store_true",
                   help="nginx reloads in this test: a client may resend a request once")
    args = p.parse_args()

    summary = json.load(open(args.summary))
    outcomes = {}
    for line in open(args.posts):
        email, outcome = line.split()
        outcomes[email] = outcome
    rows = subprocess.run(
        ["psql", args.db, "-tAF", " ", "-c",
         f"SELECT email, count(*) FROM users WHERE email LIKE '{args.prefix}-%' GROUP BY email"],
        check=True, capture_output=True, text=True).stdout.split("\n")
    in_db = {}
    for r in filter(None, rows):
        email, n = r.split()
        in_db[email] = int(n)

    get_ok = get_failed = 0
    for key, n in list(summary["status"].items()) + list(summary["errors"].items()):
        method, outcome = key.split(" ", 1)
        if method == "GET":
            if outcome.startswith("2") or outcome == "404":
                get_ok += n
            else:
                get_failed += n
    created = [e for e, o in outcomes.items() if o == "201"]
    failed_posts = {e: o for e, o in outcomes.items() if o != "201"}
    failed_by_kind = {}
    for o in failed_posts.values():
        failed_by_kind[o] = failed_by_kind.get(o, 0) + 1
    counts = {
        "test": args.name,
        "requests": summary["requests"],
        "seconds": summary["seconds"],
        "gets_ok": get_ok,
        "gets_failed": get_failed,
        "posts": len(outcomes),
        "posts_201": len(created),
        "posts_failed": failed_by_kind,
        "failed_posts_in_db": sum(1 for e in failed_posts if e in in_db),
        "rows": sum(in_db.values()),
        "created_missing_from_db": sum(1 for e in created if e not in in_db),
        "emails_with_two_rows": sum(1 for n in in_db.values() if n > 1),
        "rows_never_posted": sum(1 for e in in_db if e not in outcomes),
        "answers": summary["status"],
        "socket_errors": summary["errors"],
        "stale_keepalive_reconnects": summary.get("stale_keepalive_reconnects", 0),
        "resent_after_keepalive_close": summary.get("resent_after_keepalive_close", {}),
    }
    print(json.dumps(counts))
    problems = []
    if get_failed:
        problems.append(f"{get_failed} GETs failed")
    if counts["created_missing_from_db"]:
        problems.append(f"{counts['created_missing_from_db']} POSTs answered 201 have no row")
    if counts["emails_with_two_rows"]:
        problems.append(f"{counts['emails_with_two_rows']} emails have two rows")
    if counts["rows_never_posted"]:
        problems.append(f"{counts['rows_never_posted']} rows were never posted")
    if args.strict_posts and failed_posts:
        problems.append(f"{len(failed_posts)} POSTs failed: {failed_by_kind}")
    if counts["resent_after_keepalive_close"] and not args.allow_resend:
        problems.append(f"nginx closed client connections: {counts['resent_after_keepalive_close']}")
    if not created:
        problems.append("no POST succeeded: the load did not run")
    for problem in problems:
        print(f"FAIL ({args.name}): {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
