#!/usr/bin/env python3
"""Turns bench/run.sh's rows into the tables, the goals, latest.json and the chart.

  report.py ROWS_JSONL RSS_IDLE_KIB RSS_END_KIB RESULTS_DIR OUT_NAME SETTINGS

Rows (one JSON object a line), by kind:
  limit   {"name", "runs": [{"clients", "tps", "latency_avg_ms"}]}: the best run is the limit
  service {"name", "connections", "wrk": {...}, "ctx_switches"?} or {"name", "na": why}
  sweep   {"name", "connections", "wrk": {...}, "ctx_switches"?}
  growth  {"users", "what": by_id|page|page_1|index_1|full|rss_before|rss_after, ...}
  meta    {"threads"?, "info_log_dropped"?, "info_log_lines"?}: about the service
          processes, once a run (merged into "meta"); info_log_*: the log A/B's service
"wrk" is bench/lua/report.lua's line. "ctx_switches" is the service's voluntary +
nonvoluntary context switches, all its threads, over the measured wrk run (not
the warm-up); ctx/req divides it by the requests wrk completed.
"""
import json
import subprocess
import sys
from pathlib import Path

# endpoint -> (what its ratio is measured against, the goal for that ratio or None)
PAIRS = [
    ("GET /ping", "nginx /nginx-ping", 0.9),
    ("GET /ping via nginx", "nginx /nginx-ping", None),
    # Accepting: a new connection per request wakes one loop (its context switches per request).
    ("GET /ping new connection each", "GET /ping", None),
    ("GET /users/{id}", "pgbench SELECT by id", 0.8),
    # The same service with the production defaults (access log at info) beside LOG_LEVEL=warn.
    ("GET /users/{id} log at info", "GET /users/{id}", 0.9),
    ("GET /users?limit=100&after=", "pgbench SELECT page of 100", 0.6),
    ("GET /", "pgbench SELECT newest 50", 0.6),
    ("GET /users", "pgbench SELECT all", None),
    ("POST /users", "pgbench INSERT", 1.5),  # batching: more than one INSERT's rate
    ("POST /auth/login", None, None),  # Argon2id-bound on purpose: its rate is the hash cost
    ("GET /auth/status", "GET /users/{id}", None),
]
BIG = 1000000  # the growth size the absolute goals are about
RSS_GOAL_KIB = 64 * 1024
LATENCY_GOAL_MS = 20.0
P99_GOAL_MS = 10.0
P99_GOAL_CONNECTIONS = 64
PGBENCH_GOAL_CLIENTS = 8
# Argon2id on purpose, at 4 connections; a TCP handshake per request.
P99_GOAL_EXEMPT = ("POST /auth/login", "GET /ping new connection each")
P50_ONE_CONNECTION_GOAL_MS = 0.13  # GET /users/{id} at 1 connection before the redesign
CTX_GOAL_PER_REQUEST = 0.1  # one loop thread a connection: no hand-off to wake a worker
CTX_GOAL_CONNECTIONS = 64
LOG_GOAL = 0.9  # the access log at info costs at most 10% of GET /users/{id}


def load_rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def best_run(row):
    """The limit: pgbench's best tps over the client counts it ran."""
    runs = [run for run in row.get("runs", []) if run["tps"] > 0]
    return max(runs, key=lambda run: run["tps"]) if runs else None


def rate(row):
    if row is None or "na" in row:
        return None
    if row["kind"] == "limit":
        best = best_run(row)
        return best["tps"] if best else None
    wrk = row["wrk"]
    return wrk["requests"] / (wrk["duration_us"] / 1e6) if wrk["duration_us"] else None


def errors(wrk):
    """Socket errors and 4xx/5xx answers; a run in which no request finished
    counts as one error (wrk reports neither for requests still in flight)."""
    return wrk["socket_errors"] + wrk["non_2xx"] + (0 if wrk["requests"] else 1)


def ratio(numerator, denominator):
    return numerator / denominator if numerator is not None and denominator else None


def ctx_per_request(row):
    """The service's context switches per completed request; None when either is unknown."""
    switches = row.get("ctx_switches")
    requests = row["wrk"]["requests"]
    return switches / requests if switches is not None and switches >= 0 and requests else None


def wrk_fields(row):
    """What the tables keep of a measured wrk row."""
    w = row["wrk"]
    return {"rps": rate(row), "p50_ms": w["p50_ms"], "p99_ms": w["p99_ms"], "errors": errors(w),
            "requests": w["requests"], "connections": row["connections"],
            "ctx_switches": row.get("ctx_switches"), "ctx_voluntary": row.get("ctx_voluntary"),
            "ctx_per_req": ctx_per_request(row)}


def load_meta(rows):
    """The meta rows (about the service process), merged."""
    meta = {}
    for row in rows:
        if row["kind"] == "meta":
            meta.update({k: v for k, v in row.items() if k != "kind"})
    return meta


def build_table(rows):
    """The standard run: one line per endpoint, beside its limit."""
    by_name = {row["name"]: row for row in rows if row["kind"] in ("service", "limit")}
    table = []
    nginx = by_name.get("nginx /nginx-ping")
    if nginx:
        table.append({"endpoint": "nginx /nginx-ping (limit)", **wrk_fields(nginx),
                      "limit": None, "limit_rps": None, "limit_clients": None, "ratio": None, "goal": None})
    for name, limit_name, goal in PAIRS:
        row = by_name.get(name)
        if row is None:
            continue
        limit_row = by_name.get(limit_name)
        best = best_run(limit_row) if limit_row and limit_row["kind"] == "limit" else None
        entry = {"endpoint": name, "limit": limit_name, "limit_rps": rate(limit_row),
                 "limit_clients": best["clients"] if best else None, "goal": goal,
                 "limit_runs": limit_row.get("runs") if limit_row and limit_row["kind"] == "limit" else None}
        if "na" in row:
            entry.update({"na": row["na"], "rps": None, "p50_ms": None, "p99_ms": None, "errors": 0,
                          "requests": None, "connections": None, "ctx_switches": None, "ctx_per_req": None,
                          "ratio": None})
        else:
            entry.update(wrk_fields(row))
            entry["ratio"] = ratio(entry["rps"], entry["limit_rps"])
        table.append(entry)
    return table


def build_limits(rows):
    limits = []
    for row in rows:
        if row["kind"] != "limit":
            continue
        best = best_run(row)
        limits.append({"limit": row["name"], "runs": row["runs"],
                       "best_tps": best["tps"] if best else None, "best_clients": best["clients"] if best else None})
    return limits


def build_growth(rows):
    """One entry per table size, the measurements by name."""
    growth = {}
    for row in rows:
        if row["kind"] != "growth":
            continue
        entry = growth.setdefault(row["users"], {"users": row["users"]})
        fields = {k: v for k, v in row.items() if k not in ("kind", "users", "what")}
        if "wrk" in fields and "na" not in fields:
            w = fields.pop("wrk")
            fields.update({"rps": rate({"kind": "growth", "wrk": w}), "p50_ms": w["p50_ms"], "p99_ms": w["p99_ms"],
                           "errors": errors(w)})
        entry[row["what"]] = fields
    return [growth[users] for users in sorted(growth)]


def build_sweep(rows):
    return [{"endpoint": row["name"], **wrk_fields(row)} for row in rows if row["kind"] == "sweep"]


def goal(text, measured, target, met, unit="", detail=""):
    return {"goal": text, "measured": measured, "unit": unit, "target": target,
            "met": None if measured is None else met, "detail": detail}


def compute_goals(table, growth, sweep, meta=None):
    """Every goal: the measured value, the target, met (None: not measured in this run).
    The redesign's goals come first (every ratio from this one run), then the older
    ones that still hold: GET /ping beside nginx, the 1M-user growth and errors."""
    rows = {r["endpoint"]: r for r in table}

    def rps(name):
        return rows[name]["rps"] if name in rows else None

    def ratio_goal(text, name, against, target):
        """name's req/s over against's (another endpoint), or over name's limit when against is None."""
        numerator = rps(name)
        denominator = rps(against) if against else rows[name]["limit_rps"] if name in rows else None
        value = ratio(numerator, denominator)
        detail = f"{numerator:.0f} / {denominator:.0f} req/s" if value is not None else ""
        return goal(text, value, f">= {target:.2f}", value is not None and value >= target, "", detail)

    goals = [
        ratio_goal("GET /users/{id} / GET /ping", "GET /users/{id}", "GET /ping", 0.8),
        ratio_goal("GET /users/{id} / pgbench SELECT by id (best)", "GET /users/{id}", None, 0.8),
        log_goal(ratio_goal, (meta or {}).get("info_log_dropped"), (meta or {}).get("info_log_lines")),
        ratio_goal("GET /users?limit=100 / pgbench page of 100 (best)", "GET /users?limit=100&after=", None, 0.6),
        ratio_goal("GET / / pgbench newest 50 (best)", "GET /", None, 0.6),
        ratio_goal("POST /users / pgbench INSERT (best)", "POST /users", None, 1.5),
    ]

    # p99 on every service endpoint of the standard run at the standard connection count.
    p99_text = f"p99 at {P99_GOAL_CONNECTIONS} connections, every endpoint but login (worst)"
    at_goal_connections = [r for r in table if r["connections"] == P99_GOAL_CONNECTIONS
                           and not r["endpoint"].startswith("nginx ") and r["endpoint"] not in P99_GOAL_EXEMPT]
    finished = [r for r in at_goal_connections if r["requests"]]
    unfinished = [r["endpoint"] for r in at_goal_connections if not r["requests"]]
    if at_goal_connections:
        worst = max(finished, key=lambda r: r["p99_ms"]) if finished else None
        over = [r for r in finished if r["p99_ms"] >= P99_GOAL_MS and r is not worst]
        details = [worst["endpoint"]] if worst else []
        if over:
            details.append("also over: " + ", ".join(f"{r['endpoint']} {r['p99_ms']:.2f}" for r in over))
        if unfinished:
            details.append("no request finished: " + ", ".join(unfinished))
        g = goal(p99_text, worst["p99_ms"] if worst else None, f"< {P99_GOAL_MS:.0f}",
                 worst is not None and worst["p99_ms"] < P99_GOAL_MS and not unfinished, "ms", "; ".join(details))
        if unfinished:
            g["met"] = False
        goals.append(g)
    else:
        goals.append(goal(p99_text, None, f"< {P99_GOAL_MS:.0f}", None, "ms",
                          f"no row at {P99_GOAL_CONNECTIONS} connections"))

    # 1-connection latency: the loop answers without a hand-off to another thread.
    p50_text = "GET /users/{id} p50 at 1 connection (sweep)"
    one = next((s for s in sweep if s["endpoint"] == "GET /users/{id}" and s["connections"] == 1), None)
    if one is None:
        goals.append(goal(p50_text, None, f"<= {P50_ONE_CONNECTION_GOAL_MS:.2f}", None, "ms", "not run"))
    elif not one["requests"]:
        g = goal(p50_text, None, f"<= {P50_ONE_CONNECTION_GOAL_MS:.2f}", False, "ms", "no request finished")
        g["met"] = False
        goals.append(g)
    else:
        goals.append(goal(p50_text, one["p50_ms"], f"<= {P50_ONE_CONNECTION_GOAL_MS:.2f}",
                          one["p50_ms"] <= P50_ONE_CONNECTION_GOAL_MS, "ms"))

    # Context switches per request: the standard row at 64 connections, else the sweep's.
    ctx_text = f"GET /users/{{id}} context switches/request at {CTX_GOAL_CONNECTIONS} conns"
    candidates = [("standard", r) for r in table
                  if r["endpoint"] == "GET /users/{id}" and r["connections"] == CTX_GOAL_CONNECTIONS]
    candidates += [("sweep", s) for s in sweep
                   if s["endpoint"] == "GET /users/{id}" and s["connections"] == CTX_GOAL_CONNECTIONS]
    measured = next(((where, r) for where, r in candidates if r["ctx_per_req"] is not None), None)
    if measured:
        where, r = measured
        goals.append(goal(ctx_text, r["ctx_per_req"], f"< {CTX_GOAL_PER_REQUEST:.2f}",
                          r["ctx_per_req"] < CTX_GOAL_PER_REQUEST, "",
                          f"{where}: {r['ctx_switches']} switches"
                          + (f" ({r['ctx_voluntary']} voluntary)"
                             if r.get("ctx_voluntary") is not None else "")
                          + f" / {r['requests']} requests"))
    else:
        goals.append(goal(ctx_text, None, f"< {CTX_GOAL_PER_REQUEST:.2f}", None, "",
                          "no context switch count" if candidates else
                          f"no row at {CTX_GOAL_CONNECTIONS} connections"))

    goals.append(ratio_goal("GET /ping / nginx self", "GET /ping", None, 0.9))

    # The same SELECT from pgbench's 8 clients, not only its best count: the
    # service's loops beside as many clients as a small pool would hold.
    clients_text = f"GET /users/{{id}} / pgbench SELECT by id at {PGBENCH_GOAL_CLIENTS} clients"
    by_id = rows.get("GET /users/{id}")
    at_clients = next((run for run in (by_id or {}).get("limit_runs") or []
                       if run["clients"] == PGBENCH_GOAL_CLIENTS), None)
    value = ratio(by_id["rps"], at_clients["tps"]) if by_id and at_clients else None
    goals.append(goal(clients_text, value, ">= 1.00", value is not None and value >= 1.0, "",
                      f"{by_id['rps']:.0f} / {at_clients['tps']:.0f} req/s" if value is not None else "not run"))

    # POST /users on its own: its tail is a commit's (WAL flush, group commit), not a read's.
    post_text = f"POST /users p99 at {P99_GOAL_CONNECTIONS} connections"
    post = rows.get("POST /users")
    if post and post.get("requests") and post.get("connections") == P99_GOAL_CONNECTIONS:
        goals.append(goal(post_text, post["p99_ms"], f"< {P99_GOAL_MS:.0f}", post["p99_ms"] < P99_GOAL_MS, "ms",
                          f"p50 {post['p50_ms']:.2f} ms"))
    else:
        goals.append(goal(post_text, None, f"< {P99_GOAL_MS:.0f}", None, "ms", "not run"))

    big = next((g for g in growth if g["users"] == BIG), {})
    full = big.get("full")
    if full:
        peak_mib = full["peak_rss_kib"] / 1024
        goals.append(goal("1M users: full GET /users, peak RSS", round(peak_mib, 1), f"< {RSS_GOAL_KIB // 1024}",
                          full["status"] == 200 and full["peak_rss_kib"] < RSS_GOAL_KIB, "MiB",
                          "" if full["status"] == 200 else f"answered {full['status']}"))
    else:
        goals.append(goal("1M users: full GET /users, peak RSS", None, f"< {RSS_GOAL_KIB // 1024}", None, "MiB",
                          "not run"))
    for what, text in [("index_1", "1M users: GET / p99 (1 connection)"),
                       ("page_1", "1M users: GET /users?limit=100 p99 (1 connection)")]:
        m = big.get(what)
        if m is None or "na" in m:
            goals.append(goal(text, None, f"< {LATENCY_GOAL_MS:.0f}", None, "ms", m["na"] if m else "not run"))
        else:
            goals.append(goal(text, m["p99_ms"], f"< {LATENCY_GOAL_MS:.0f}",
                              m["p99_ms"] < LATENCY_GOAL_MS and m["errors"] == 0, "ms",
                              f"{m['errors']} errors" if m["errors"] else ""))

    failing = [(r["endpoint"], r["errors"]) for r in table if r["errors"]]
    failing += [(f"sweep {s['endpoint']} @{s['connections']}", s["errors"]) for s in sweep if s["errors"]]
    for g in growth:
        for what, m in g.items():
            if isinstance(m, dict) and m.get("errors"):
                failing.append((f"growth {g['users']} {what}", m["errors"]))
            if what == "full" and m["status"] != 200:
                failing.append((f"growth {g['users']} full GET /users ({m['status']})", 1))
    goals.append(goal("errors (non-2xx/3xx, socket), every row", sum(n for _, n in failing), "= 0", not failing, "",
                      ", ".join(f"{name}: {n}" for name, n in failing)))
    return goals


def log_goal(ratio_goal, dropped, lines):
    """GET /users/{id} with the access log at info over LOG_LEVEL=warn; a line
    dropped would make the log look cheaper than it is, so any fails the goal."""
    g = ratio_goal("GET /users/{id}: log at info / LOG_LEVEL=warn", "GET /users/{id} log at info",
                   "GET /users/{id}", LOG_GOAL)
    if g["measured"] is None:
        return g
    if lines is not None:
        g["detail"] += f"; {lines} lines logged"
    if dropped is None:
        g["detail"] += "; dropped lines unknown"
    else:
        g["detail"] += f", {dropped} dropped"
        if dropped:
            g["met"] = False
    return g


def fmt(value, spec):
    width = int(spec.split(".")[0]) if spec[0].isdigit() else 0
    return format("-", f">{width}") if value is None else format(value, spec)


def render(settings, table, limits, sweep, growth, goals, rss, meta=None):
    threads = (meta or {}).get("threads")
    out = [f"\nusers-service benchmark ({settings}; service process: {threads if threads else '?'} threads)"]
    if table:
        header = (f"{'endpoint':<28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'ctx/req':>7}  "
                  f"{'limit':<30} {'limit/s':>9} {'ratio':>6} {'goal':>6}")
        out += [header, "-" * len(header)]
        for r in table:
            limit = r["limit"] or "-"
            if r["limit_clients"]:
                limit += f" @{r['limit_clients']}"
            if r.get("na"):
                out.append(f"{r['endpoint']:<28} {'n/a':>9}  ({r['na']})")
                continue
            verdict = ""
            if r["goal"] is not None and r["ratio"] is not None:
                verdict = " ok" if r["ratio"] >= r["goal"] else " LOW"
            out.append(f"{r['endpoint']:<28} {fmt(r['rps'], '9.0f')} {fmt(r['p50_ms'], '8.2f')} "
                       f"{fmt(r['p99_ms'], '8.2f')} {r['errors']:>7} {fmt(r['ctx_per_req'], '7.2f')}  "
                       f"{limit:<30} {fmt(r['limit_rps'], '9.0f')} "
                       f"{fmt(r['ratio'], '6.2f')} {fmt(r['goal'], '6.2f')}{verdict}")
    if limits:
        clients = sorted({run["clients"] for l in limits for run in l["runs"]})
        out.append(f"\nlimits: pgbench tps by clients (-j min(clients, 2)); the best is the limit")
        out.append(f"{'limit':<28} " + " ".join(f"{'c=' + str(c):>9}" for c in clients) + f" {'best':>9}")
        for l in limits:
            tps = {run["clients"]: run["tps"] for run in l["runs"]}
            out.append(f"{l['limit']:<28} " + " ".join(fmt(tps.get(c), "9.0f") for c in clients)
                       + f" {fmt(l['best_tps'], '9.0f')} @{l['best_clients']}")
    if sweep:
        out.append(f"\nlatency sweep: connections against req/s and latency")
        out.append(f"{'endpoint':<18} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
                   f"{'ctx/req':>7}")
        for s in sweep:
            out.append(f"{s['endpoint']:<18} {s['connections']:>5} {fmt(s['rps'], '9.0f')} {fmt(s['p50_ms'], '8.2f')} "
                       f"{fmt(s['p99_ms'], '8.2f')} {s['errors']:>7} {fmt(s['ctx_per_req'], '7.2f')}")
    if growth:
        out.append("\ngrowth: cost against the table's size (page and GET / p99 at 1 connection; full = one curl)")
        out.append(f"{'users':>8} {'by id/s':>8} {'page/s':>8} {'page p99':>9} {'p99 @1':>7} {'GET / p50':>10} "
                   f"{'p99 @1':>7} {'full s':>7} {'full MiB':>9} {'peak RSS':>9} {'RSS before>after MiB':>21}")
        for g in growth:
            by_id, page, page_1 = g.get("by_id", {}), g.get("page", {}), g.get("page_1", {})
            index, full = g.get("index_1", {}), g.get("full")
            before, after = g.get("rss_before", {}).get("kib"), g.get("rss_after", {}).get("kib")
            rss_span = f"{fmt(before and before / 1024, '.1f')} > {fmt(after and after / 1024, '.1f')}"
            page_cells = (f"{'n/a':>8} {'n/a':>9} {'n/a':>7}" if "na" in page else
                          f"{fmt(page.get('rps'), '8.0f')} {fmt(page.get('p99_ms'), '9.2f')} "
                          f"{fmt(page_1.get('p99_ms'), '7.2f')}")
            full_cells = (f"{fmt(full['wall_s'], '7.2f')} {fmt(full['bytes'] / 2**20, '9.1f')} "
                          f"{fmt(full['peak_rss_kib'] / 1024, '9.1f')}" if full else f"{'-':>7} {'-':>9} {'-':>9}")
            if full and full["status"] != 200:
                full_cells += f" ({full['status']})"
            out.append(f"{g['users']:>8} {fmt(by_id.get('rps'), '8.0f')} {page_cells} "
                       f"{fmt(index.get('p50_ms'), '10.2f')} {fmt(index.get('p99_ms'), '7.2f')} {full_cells} "
                       f"{rss_span:>21}")
        notes = [f"{g['users']} {what}: {m['note']}" for g in growth for what, m in g.items()
                 if isinstance(m, dict) and m.get("note")]
        notes += [f"page: {g['page']['na']}" for g in growth[:1] if "na" in g.get("page", {})]
        out += [f"  {note}" for note in notes]
    out.append(f"\n{'goal (ratios: this one run)':<56} {'measured':>14} {'target':>11}  met")
    for g in goals:
        measured = g["measured"]
        if measured is None:
            measured = "-"
        elif isinstance(measured, float):  # under 1, three decimals: 0.134 ms is not <= 0.13
            measured = f"{measured:.3f}" if abs(measured) < 1 else f"{measured:.2f}"
        else:
            measured = str(measured)
        met = {True: "yes", False: "NO", None: "n/a"}[g["met"]]
        detail = f"  ({g['detail']})" if g["detail"] else ""
        unit = f" {g['unit']}" if g["unit"] else ""
        out.append(f"{g['goal']:<56} {measured + (unit if g['measured'] is not None else ''):>14} "
                   f"{g['target'] + unit:>11}  {met}{detail}")
    growth_pct = (rss["end_kib"] - rss["idle_kib"]) / max(rss["idle_kib"], 1)
    out.append(f"\nservice RSS: idle {rss['idle_kib']} KiB, after the standard run {rss['end_kib']} KiB "
               f"({growth_pct:+.0%})")
    return "\n".join(out)


def write_chart(results, out_name, table):
    """Ratio to the limit per endpoint, with the goals (gnuplot, SVG)."""
    charted = [r for r in table if r["ratio"] is not None]
    if not charted:
        return "no chart: no endpoint with its limit in this run"
    data = results / "ratio.dat"
    data.write_text("".join(f"\"{r['endpoint']}\" {r['ratio']:.3f} {r['goal'] or 0}\n" for r in charted))
    svg = results / ("ratio.svg" if out_name == "latest" else f"{out_name}-ratio.svg")
    script = f"""
set terminal svg size 900,420 font "sans,12"
set output "{svg}"
set title "users-service: throughput as a share of its limit (one run)"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set yrange [0:*]
set ylabel "ratio to limit"
set xtics rotate by -20
set grid ytics
plot "{data}" using 2:xtic(1) title "ratio" lc rgb "#0d6efd", \\
     "" using 0:($3>0?$3:1/0) with points pt 7 ps 1.2 lc rgb "#dc3545" title "goal"
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
        return f"the chart in {svg}"
    except (OSError, subprocess.CalledProcessError) as error:
        return f"no chart: {error}"
    finally:
        data.unlink()


def main(argv):
    rows_path, rss_idle, rss_end, results_dir, out_name, settings = argv[:6]
    rows = load_rows(rows_path)
    table, limits = build_table(rows), build_limits(rows)
    sweep, growth = build_sweep(rows), build_growth(rows)
    meta = load_meta(rows)
    goals = compute_goals(table, growth, sweep, meta)
    rss = {"idle_kib": int(rss_idle), "end_kib": int(rss_end)}
    print(render(settings, table, limits, sweep, growth, goals, rss, meta))
    results = Path(results_dir)
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{out_name}.json"
    path.write_text(json.dumps({"settings": settings, "meta": meta, "rows": table, "limits": limits, "sweep": sweep,
                                "growth": growth, "goals": goals, "rss": rss, "raw": rows}, indent=2) + "\n")
    print(f"wrote {path}; {write_chart(results, out_name, table)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
