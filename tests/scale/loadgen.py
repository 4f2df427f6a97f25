#!/usr/bin/env python3
"""A bounded read+write load on the stack behind nginx, for the fault tests.

Several workers, each on its own keep-alive connection (a new one after any
error), send for a fixed time -- or until --stop-file appears -- a mix of
GET /users/{id}, GET /ping and POST /users with a unique email.
Every POST's email and outcome goes to --posts (one "email status" a line;
status is the HTTP code or "error:<kind>" when no answer came back), so the
database can be checked against it afterwards (check_posts.py). Prints one
JSON summary line: requests, answers by method and status, socket errors.

Failures are counted, not retried: a request that did not get its answer is
what the tests look for. The one exception is what any HTTP client with a
connection pool does (urllib3, browsers): a worker does not send on a
keep-alive connection the server has already closed, and a request that met
the server closing a reused connection at that very moment, with no answer
at all, is sent once more on a new connection (counted and reported).
"""
import argparse
import http.client
import json
import os
import random
import select
import sys
import threading
import time


def dropped(conn):
    """True when the server has closed this idle connection (it is readable:
    an EOF or a reset waits, since no response is due)."""
    return conn.sock is not None and bool(select.select([conn.sock], [], [], 0)[0])


# What a client sees when the server closed the connection before reading the
# request: a reset, a broken pipe, or an empty answer.
STALE = (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected)


def send(conn, method, path, body, headers):
    """One request on conn; its status, plus " close" when the server closes."""
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    resp.read()
    return str(resp.status) + (" close" if resp.will_close else "")


def worker(args, wid, deadline, stop_file, results, lock):
    rng = random.Random(wid)
    conn = None
    n = 0
    local = {"status": {}, "errors": {}, "posts": [], "reconnects": 0, "resent": {}}
    while time.monotonic() < deadline and not os.path.exists(stop_file or "\0"):
        if conn is not None and dropped(conn):
            # nginx closes idle keep-alive connections when it reloads: like
            # urllib3 and browsers, look before reusing one.
            conn.close()
            conn = None
            local["reconnects"] += 1
        if conn is None:
            conn = http.client.HTTPConnection(args.host, args.port, timeout=30)
        if rng.random() < args.write_ratio:
            method = "POST"
            email = f"{args.prefix}-{wid}-{n}@example.com"
            n += 1
            body = json.dumps({"username": f"u{wid}x{n}", "email": email})
            path, headers = "/users", {"Content-Type": "application/json"}
        else:
            method, email, body, headers = "GET", None, None, {}
            # By id (a 404 until that id exists); GET /users is left out: it
            # lists every user, and the tests create thousands.
            path = f"/users/{rng.randint(1, 1000)}" if rng.random() < 0.9 else "/ping"
        reused = conn.sock is not None
        try:
            outcome = send(conn, method, path, body, headers)
        except STALE as e:
            if not reused:
                outcome = "error:" + type(e).__name__
            else:
                # The request met a keep-alive connection nginx closed at
                # that moment (a reload closes idle ones) and got no answer
                # at all: resent once on a new connection, as HTTP clients
                # do (RFC 9112, 9.3.1). A POST resent after it had been
                # applied would be answered 400 (the email exists) and fail
                # the test; the database check counts rows too.
                local["resent"][method] = local["resent"].get(method, 0) + 1
                conn.close()
                conn = http.client.HTTPConnection(args.host, args.port, timeout=30)
                try:
                    outcome = send(conn, method, path, body, headers)
                except (OSError, http.client.HTTPException) as e2:
                    outcome = "error:" + type(e2).__name__
        except (OSError, http.client.HTTPException) as e:
            outcome = "error:" + type(e).__name__
        if outcome.startswith("error:") or outcome.endswith("close"):
            outcome = outcome.replace(" close", "")
            conn.close()
            conn = None
        key = f"{method} {outcome}"
        bucket = "errors" if outcome.startswith("error:") else "status"
        local[bucket][key] = local[bucket].get(key, 0) + 1
        if email:
            local["posts"].append(f"{email} {outcome}")
    if conn is not None:
        conn.close()
    with lock:
        for bucket in ("status", "errors"):
            for k, v in local[bucket].items():
                results[bucket][k] = results[bucket].get(k, 0) + v
        results["posts"].extend(local["posts"])
        results["reconnects"] += local["reconnects"]
        for k, v in local["resent"].items():
            results["resent"][k] = results["resent"].get(k, 0) + v


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--stop-file", help="stop early once this file exists")
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--write-ratio", type=float, default=0.2)
    p.add_argument("--prefix", default="load")
    p.add_argument("--posts", required=True, help="file for 'email status' lines")
    args = p.parse_args()
    hostport = args.url.split("//", 1)[1].rstrip("/")
    args.host, port = hostport.rsplit(":", 1)
    args.port = int(port)

    results = {"status": {}, "errors": {}, "posts": [], "reconnects": 0, "resent": {}}
    lock = threading.Lock()
    start = time.monotonic()
    deadline = start + args.seconds
    threads = [threading.Thread(target=worker, args=(args, w, deadline, args.stop_file, results, lock))
               for w in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    with open(args.posts, "w") as f:
        f.write("".join(line + "\n" for line in results["posts"]))
    total = sum(results["status"].values()) + sum(results["errors"].values())
    summary = {"seconds": round(elapsed, 1), "requests": total,
               "status": dict(sorted(results["status"].items())),
               "errors": dict(sorted(results["errors"].items())),
               "stale_keepalive_reconnects": results["reconnects"],
               "resent_after_keepalive_close": results["resent"]}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
