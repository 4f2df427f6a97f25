#!/usr/bin/env python3
"""Turns bench/run.sh's rows into the tables, the goals, latest.json and the chart.

  report.py ROWS_JSONL RSS_IDLE_KIB RSS_END_KIB RESULTS_DIR OUT_NAME SETTINGS

Rows (one JSON object a line), by kind:
  limit   {"name", "runs": [{"clients", "tps", "latency_avg_ms"}]}: the best run is the limit
  service {"name", "connections", "wrk": {...}} or {"name", "na": why}
  sweep   {"name", "connections", "wrk": {...}}
  growth  {"users", "what": by_id|page|page_1|index_1|full|rss_before|rss_after, ...}
"wrk" is bench/lua/report.lua's line.
"""
import json
import subprocess
import sys
from pathlib import Path

# endpoint -> (what its ratio is measured against, the goal for that ratio or None)
PAIRS = [
    ("GET /ping", "nginx /nginx-ping", 0.6),
    ("GET /ping via nginx", "nginx /nginx-ping", None),
    ("GET /users/{id}", "pgbench SELECT by id", 0.8),
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


def build_table(rows):
    """The standard run: one line per endpoint, beside its limit."""
    by_name = {row["name"]: row for row in rows if row["kind"] in ("service", "limit")}
    table = []
    nginx = by_name.get("nginx /nginx-ping")
    if nginx:
        w = nginx["wrk"]
        table.append({"endpoint": "nginx /nginx-ping (limit)", "rps": rate(nginx), "p50_ms": w["p50_ms"],
                      "p99_ms": w["p99_ms"], "errors": errors(w), "connections": nginx["connections"],
                      "limit": None, "limit_rps": None, "limit_clients": None, "ratio": None, "goal": None})
    for name, limit_name, goal in PAIRS:
        row = by_name.get(name)
        if row is None:
            continue
        limit_row = by_name.get(limit_name)
        best = best_run(limit_row) if limit_row and limit_row["kind"] == "limit" else None
        entry = {"endpoint": name, "limit": limit_name, "limit_rps": rate(limit_row),
                 "limit_clients": best["clients"] if best else None, "goal": goal}
        if "na" in row:
            entry.update({"na": row["na"], "rps": None, "p50_ms": None, "p99_ms": None, "errors": 0,
                          "connections": None, "ratio": None})
        else:
            w = row["wrk"]
            entry.update({"rps": rate(row), "p50_ms": w["p50_ms"], "p99_ms": w["p99_ms"], "errors": errors(w),
                          "connections": row["connections"]})
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
    return [{"endpoint": row["name"], "connections": row["connections"], "rps": rate(row),
             "p50_ms": row["wrk"]["p50_ms"], "p99_ms": row["wrk"]["p99_ms"], "errors": errors(row["wrk"])}
            for row in rows if row["kind"] == "sweep"]


def goal(text, measured, target, met, unit="", detail=""):
    return {"goal": text, "measured": measured, "unit": unit, "target": target,
            "met": None if measured is None else met, "detail": detail}


def compute_goals(table, growth, sweep):
    """Every goal: the measured value, the target, met (None: not measured in this run)."""
    rows = {r["endpoint"]: r for r in table}

    def rps(name):
        return rows[name]["rps"] if name in rows else None

    def limit_ratio(name):
        return rows[name]["ratio"] if name in rows else None

    goals = []
    for text, value, target in [
        ("GET /users/{id} / pgbench SELECT by id (best)", limit_ratio("GET /users/{id}"), 0.8),
        ("GET /users/{id} / GET /ping", ratio(rps("GET /users/{id}"), rps("GET /ping")), 0.8),
        ("POST /users / pgbench INSERT (best)", limit_ratio("POST /users"), 1.5),
        ("GET /users?limit=100 / pgbench page of 100 (best)", limit_ratio("GET /users?limit=100&after="), 0.6),
        ("GET / / pgbench newest 50 (best)", limit_ratio("GET /"), 0.6),
        ("GET /ping / nginx self", limit_ratio("GET /ping"), 0.6),
    ]:
        goals.append(goal(text, value, f">= {target:.2f}", value is not None and value >= target))

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

    at_goal_connections = [r for r in table if r["connections"] == P99_GOAL_CONNECTIONS
                            and not r["endpoint"].startswith("nginx ")]
    if at_goal_connections:
        worst = max(at_goal_connections, key=lambda r: r["p99_ms"])
        goals.append(goal(f"p99 at {P99_GOAL_CONNECTIONS} connections, every endpoint (worst)", worst["p99_ms"],
                          f"< {P99_GOAL_MS:.0f}", worst["p99_ms"] < P99_GOAL_MS, "ms", worst["endpoint"]))
    else:
        goals.append(goal(f"p99 at {P99_GOAL_CONNECTIONS} connections, every endpoint (worst)", None,
                          f"< {P99_GOAL_MS:.0f}", None, "ms", f"no row at {P99_GOAL_CONNECTIONS} connections"))

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


def fmt(value, spec):
    width = int(spec.split(".")[0]) if spec[0].isdigit() else 0
    return format("-", f">{width}") if value is None else format(value, spec)


def render(settings, table, limits, sweep, growth, goals, rss):
    out = [f"\nusers-service benchmark ({settings})"]
    if table:
        header = (f"{'endpoint':<28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  {'limit':<30} "
                  f"{'limit/s':>9} {'ratio':>6} {'goal':>6}")
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
                       f"{fmt(r['p99_ms'], '8.2f')} {r['errors']:>7}  {limit:<30} {fmt(r['limit_rps'], '9.0f')} "
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
        out.append(f"{'endpoint':<18} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        for s in sweep:
            out.append(f"{s['endpoint']:<18} {s['connections']:>5} {fmt(s['rps'], '9.0f')} {fmt(s['p50_ms'], '8.2f')} "
                       f"{fmt(s['p99_ms'], '8.2f')} {s['errors']:>7}")
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
    out.append(f"\n{'goal':<52} {'measured':>14} {'target':>9}  met")
    for g in goals:
        measured = "-" if g["measured"] is None else f"{g['measured']:.2f}" if isinstance(g["measured"], float) \
            else str(g["measured"])
        met = {True: "yes", False: "NO", None: "n/a"}[g["met"]]
        detail = f"  ({g['detail']})" if g["detail"] else ""
        unit = f" {g['unit']}" if g["unit"] else ""
        out.append(f"{g['goal']:<52} {measured + (unit if g['measured'] is not None else ''):>14} "
                   f"{g['target'] + unit:>9}  {met}{detail}")
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
    goals = compute_goals(table, growth, sweep)
    rss = {"idle_kib": int(rss_idle), "end_kib": int(rss_end)}
    print(render(settings, table, limits, sweep, growth, goals, rss))
    results = Path(results_dir)
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{out_name}.json"
    path.write_text(json.dumps({"settings": settings, "rows": table, "limits": limits, "sweep": sweep,
                                "growth": growth, "goals": goals, "rss": rss, "raw": rows}, indent=2) + "\n")
    print(f"wrote {path}; {write_chart(results, out_name, table)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
