#!/usr/bin/env python3
"""Turns bench/run.sh's rows into the table, latest.json and the chart."""
import json
import subprocess
import sys
from pathlib import Path

rows_path, rss_idle, rss_end, results_dir, out_name, settings = sys.argv[1:7]
rows = {row["name"]: row for row in map(json.loads, Path(rows_path).read_text().splitlines())}

# endpoint -> (its limit, the goal for the ratio or None)
PAIRS = [
    ("GET /ping", "nginx /nginx-ping", 0.5),
    ("GET /ping via nginx", "nginx /nginx-ping", None),
    ("GET /users/{id}", "pgbench SELECT by id", 0.6),
    ("GET /users", "pgbench SELECT all", None),
    ("GET /", "pgbench SELECT newest", None),
    ("POST /users", "pgbench INSERT", 0.6),
    ("POST /auth/login", None, None),  # Argon2id-bound on purpose: its rate is the hash cost
    ("GET /auth/status", "GET /users/{id}", None),
]


def rate(row):
    if row is None:
        return None
    if row["kind"] == "limit":
        return row["tps"]
    wrk = row["wrk"]
    return wrk["requests"] / (wrk["duration_us"] / 1e6)


table = []
limit_row = rows.get("nginx /nginx-ping")
if limit_row:
    w = limit_row["wrk"]
    table.append({"endpoint": "nginx /nginx-ping (limit)", "rps": rate(limit_row), "p50_ms": w["p50_ms"],
                  "p99_ms": w["p99_ms"], "errors": w["socket_errors"] + w["non_2xx"],
                  "limit": None, "limit_rps": None, "ratio": None, "goal": None})
for name, limit_name, goal in PAIRS:
    row = rows.get(name)
    if row is None:
        continue
    w = row["wrk"]
    service_rps = rate(row)
    limit_rps = rate(rows.get(limit_name))
    ratio = service_rps / limit_rps if limit_rps else None
    table.append({"endpoint": name, "rps": service_rps, "p50_ms": w["p50_ms"], "p99_ms": w["p99_ms"],
                  "errors": w["socket_errors"] + w["non_2xx"], "limit": limit_name,
                  "limit_rps": limit_rps, "ratio": ratio, "goal": goal})

rss = {"idle_kib": int(rss_idle), "end_kib": int(rss_end)}


def fmt(value, spec):
    width = int(spec.split(".")[0]) if spec[0].isdigit() else 0
    return format("-", f">{width}") if value is None else format(value, spec)


header = f"{'endpoint':<26} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  {'limit':<22} {'limit/s':>9} {'ratio':>6} {'goal':>6}"
print()
print(f"users-service benchmark ({settings})")
print(header)
print("-" * len(header))
for r in table:
    verdict = ""
    if r["goal"] is not None and r["ratio"] is not None:
        verdict = " ok" if r["ratio"] >= r["goal"] else " LOW"
    print(f"{r['endpoint']:<26} {fmt(r['rps'], '9.0f')} {fmt(r['p50_ms'], '8.2f')} {fmt(r['p99_ms'], '8.2f')} "
          f"{r['errors']:>7}  {(r['limit'] or '-'):<22} {fmt(r['limit_rps'], '9.0f')} {fmt(r['ratio'], '6.2f')} "
          f"{fmt(r['goal'], '6.2f')}{verdict}")
growth = (rss["end_kib"] - rss["idle_kib"]) / max(rss["idle_kib"], 1)
print(f"\nservice RSS: idle {rss['idle_kib']} KiB, after the load {rss['end_kib']} KiB ({growth:+.0%})")
errors = sum(r["errors"] for r in table)
print(f"errors across all runs: {errors}")

results = Path(results_dir)
(results / f"{out_name}.json").write_text(json.dumps(
    {"settings": settings, "rows": table, "rss": rss, "raw": list(rows.values())}, indent=2) + "\n")

# Chart: ratio to the limit per endpoint, with the goals.
charted = [r for r in table if r["ratio"] is not None]
data = results / "ratio.dat"
data.write_text("".join(f"\"{r['endpoint']}\" {r['ratio']:.3f} {r['goal'] or 0}\n" for r in charted))
script = f"""
set terminal svg size 900,420 font "sans,12"
set output "{results / (out_name + '-ratio.svg' if out_name != 'latest' else 'ratio.svg')}"
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
    if not charted:
        raise OSError("no endpoint with its limit in this run")
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print(f"wrote {results / (out_name + '.json')} and the chart in {results}")
except (OSError, subprocess.CalledProcessError) as error:
    print(f"wrote {results / (out_name + '.json')} (no chart: {error})")
data.unlink()
