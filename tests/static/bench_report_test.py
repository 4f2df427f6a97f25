#!/usr/bin/env python3
"""bench/report.py on a small rows file: the limit is pgbench's best client
count, an endpoint without its route is n/a, each goal is met or not as its
numbers say, and context switches per request come from the rows' counts."""
import copy
import importlib.util
import io
import json
import sys
import tempfile
import unittest
from contextlib import redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIXTURE = HERE / "bench_report_fixture.jsonl"

spec = importlib.util.spec_from_file_location("bench_report", ROOT / "bench" / "report.py")
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)


P99_GOAL = "p99 at 64 connections, every endpoint but login (worst)"
P50_GOAL = "GET /users/{id} p50 at 1 connection (sweep)"
CTX_GOAL = "GET /users/{id} context switches/request at 64 conns"
LOG_GOAL = "GET /users/{id}: log at info / LOG_LEVEL=warn"


def goals_by_text(goals):
    return {g["goal"]: g for g in goals}


def row(rows, kind, name, connections=None):
    return next(r for r in rows if r["kind"] == kind and r.get("name") == name
                and (connections is None or r.get("connections") == connections))


def goals_of(rows):
    table, sweep, growth = report.build_table(rows), report.build_sweep(rows), report.build_growth(rows)
    return goals_by_text(report.compute_goals(table, growth, sweep, report.load_meta(rows)))


def run_main(rows):
    """report.main on ROWS: what it printed and the JSON it wrote."""
    with tempfile.TemporaryDirectory() as results, redirect_stdout(io.StringIO()) as out:
        rows_path = Path(results) / "rows.jsonl"
        rows_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        report.main([str(rows_path), "12000", "13000", results, "partial", "fixture"])
        return out.getvalue(), json.loads((Path(results) / "partial.json").read_text())


class BenchReport(unittest.TestCase):
    def setUp(self):
        self.rows = report.load_rows(FIXTURE)
        self.table = report.build_table(self.rows)
        self.growth = report.build_growth(self.rows)
        self.sweep = report.build_sweep(self.rows)
        self.goals = goals_by_text(report.compute_goals(self.table, self.growth, self.sweep))

    def test_Limit_IsTheBestClientCount(self):
        by_id = next(r for r in self.table if r["endpoint"] == "GET /users/{id}")
        self.assertEqual(by_id["limit_rps"], 50000)
        self.assertEqual(by_id["limit_clients"], 8)
        self.assertAlmostEqual(by_id["ratio"], 0.6)

    def test_RatioGoal_MetWhenAboveTarget(self):
        post = self.goals["POST /users / pgbench INSERT (best)"]
        self.assertAlmostEqual(post["measured"], 1.75)
        self.assertIs(post["met"], True)
        self.assertIs(self.goals["POST /users p99 at 64 connections"]["met"], True)
        self.assertEqual(self.goals["POST /users p99 at 64 connections"]["measured"], 9.0)

    def test_PingGoal_NinetyPercentOfNginx(self):
        ping = self.goals["GET /ping / nginx self"]
        self.assertAlmostEqual(ping["measured"], 0.7)
        self.assertEqual(ping["target"], ">= 0.90")
        self.assertIs(ping["met"], False)

    def test_ByIdGoal_AgainstPgbenchsEightClientsNotOnlyItsBest(self):
        at_eight = self.goals["GET /users/{id} / pgbench SELECT by id at 8 clients"]
        self.assertAlmostEqual(at_eight["measured"], 0.6)
        self.assertEqual(at_eight["detail"], "30000 / 50000 req/s")
        self.assertIs(at_eight["met"], False)

    def test_RatioGoal_UnmetWhenBelowTarget(self):
        self.assertIs(self.goals["GET /users/{id} / pgbench SELECT by id (best)"]["met"], False)
        by_id_vs_ping = self.goals["GET /users/{id} / GET /ping"]
        self.assertAlmostEqual(by_id_vs_ping["measured"], 30000 / 70000)
        self.assertIs(by_id_vs_ping["met"], False)

    def test_MissingEndpoint_IsNotApplicable(self):
        page = next(r for r in self.table if r["endpoint"] == "GET /users?limit=100&after=")
        self.assertIn("400", page["na"])
        self.assertIsNone(page["ratio"])
        self.assertIsNone(self.goals["GET /users?limit=100 / pgbench page of 100 (best)"]["met"])
        self.assertIsNone(self.goals["1M users: GET /users?limit=100 p99 (1 connection)"]["met"])

    def test_GrowthGoals_FromTheMillionUsersRow(self):
        rss = self.goals["1M users: full GET /users, peak RSS"]
        self.assertEqual(rss["measured"], 200.0)
        self.assertIs(rss["met"], False)
        self.assertIs(self.goals["1M users: GET / p99 (1 connection)"]["met"], True)

    def test_RatioGoals_TheRedesignsTargetsFirst(self):
        goals = report.compute_goals(self.table, self.growth, self.sweep)
        self.assertEqual([(g["goal"], g["target"]) for g in goals[:6]], [
            ("GET /users/{id} / GET /ping", ">= 0.80"),
            ("GET /users/{id} / pgbench SELECT by id (best)", ">= 0.80"),
            (LOG_GOAL, ">= 0.90"),
            ("GET /users?limit=100 / pgbench page of 100 (best)", ">= 0.60"),
            ("GET / / pgbench newest 50 (best)", ">= 0.60"),
            ("POST /users / pgbench INSERT (best)", ">= 1.50"),
        ])
        self.assertEqual([g["goal"] for g in goals[6:9]], [P99_GOAL, P50_GOAL, CTX_GOAL])
        self.assertEqual(self.goals["GET /users/{id} / GET /ping"]["detail"], "30000 / 70000 req/s")

    def test_P99Goal_NamesTheWorstEndpoint(self):
        p99 = self.goals[P99_GOAL]
        self.assertEqual(p99["measured"], 60.0)
        self.assertEqual(p99["target"], "< 10")
        self.assertEqual(p99["detail"], "GET /; also over: GET /users/{id} 12.50")
        self.assertIs(p99["met"], False)

    def test_P99Goal_LeavesLoginOutEvenAtTheStandardConnections(self):
        rows = copy.deepcopy(self.rows)
        for name, p99 in [("GET /users/{id}", 9.5), ("GET /", 8.0)]:
            row(rows, "service", name)["wrk"]["p99_ms"] = p99
        login = row(rows, "service", "POST /auth/login")
        login["connections"] = 64
        login["wrk"].update({"requests": 40, "p99_ms": 900.0})
        p99 = goals_of(rows)[P99_GOAL]
        self.assertEqual(p99["measured"], 9.5)
        self.assertEqual(p99["detail"], "GET /users/{id}")
        self.assertIs(p99["met"], True)

    def test_P99Goal_UnmetWhenARowFinishedNoRequest(self):
        rows = copy.deepcopy(self.rows)
        for name in ("GET /users/{id}", "GET /"):
            row(rows, "service", name)["wrk"]["p99_ms"] = 5.0
        row(rows, "service", "GET /ping")["wrk"].update({"requests": 0, "p99_ms": 0})
        p99 = goals_of(rows)[P99_GOAL]
        self.assertIn("no request finished: GET /ping", p99["detail"])
        self.assertIs(p99["met"], False)

    def test_OneConnectionP50Goal_FromTheSweep(self):
        p50 = self.goals[P50_GOAL]
        self.assertEqual((p50["measured"], p50["target"], p50["met"]), (0.4, "<= 0.13", False))
        rows = copy.deepcopy(self.rows)
        row(rows, "sweep", "GET /users/{id}", 1)["wrk"]["p50_ms"] = 0.13
        self.assertIs(goals_of(rows)[P50_GOAL]["met"], True)
        self.assertIsNone(goals_of([r for r in rows if r["kind"] != "sweep"])[P50_GOAL]["met"])

    def test_CtxPerRequest_IsTheDeltaOverTheRequests(self):
        rows = copy.deepcopy(self.rows)
        row(rows, "service", "GET /users/{id}")["ctx_switches"] = 15000  # 300000 requests
        row(rows, "sweep", "GET /users/{id}", 1)["ctx_switches"] = 40000  # 20000 requests
        row(rows, "service", "POST /auth/login")["ctx_switches"] = 12  # no request finished
        table, sweep = report.build_table(rows), report.build_sweep(rows)
        by_id = next(r for r in table if r["endpoint"] == "GET /users/{id}")
        self.assertEqual(by_id["ctx_switches"], 15000)
        self.assertAlmostEqual(by_id["ctx_per_req"], 0.05)
        self.assertAlmostEqual(sweep[0]["ctx_per_req"], 2.0)
        self.assertIsNone(next(r for r in table if r["endpoint"] == "POST /auth/login")["ctx_per_req"])
        self.assertIsNone(next(r for r in table if r["endpoint"] == "GET /ping")["ctx_per_req"])
        ctx = goals_of(rows)[CTX_GOAL]
        self.assertAlmostEqual(ctx["measured"], 0.05)
        self.assertEqual(ctx["target"], "< 0.10")
        self.assertEqual(ctx["detail"], "standard: 15000 switches / 300000 requests")
        self.assertIs(ctx["met"], True)

    def test_CtxGoal_UnmetAtOneSwitchInTen_AndFromTheSweepWithoutTheStandardRun(self):
        rows = copy.deepcopy(self.rows)
        rows.append({"name": "GET /users/{id}", "kind": "sweep", "connections": 64, "ctx_switches": 60000,
                     "wrk": {"requests": 600000, "duration_us": 10000000, "p50_ms": 1.0, "p99_ms": 3.0,
                             "socket_errors": 0, "non_2xx": 0}})
        sweep_only = [r for r in rows if r["kind"] != "service"]
        ctx = goals_of(sweep_only)[CTX_GOAL]
        self.assertAlmostEqual(ctx["measured"], 0.1)
        self.assertTrue(ctx["detail"].startswith("sweep:"))
        self.assertIs(ctx["met"], False)

    def test_CtxGoal_NotApplicableWithoutACount(self):
        self.assertIsNone(self.goals[CTX_GOAL]["met"])
        self.assertEqual(self.goals[CTX_GOAL]["detail"], "no context switch count")

    def test_ErrorsGoal_CountsEveryRow(self):
        errors = self.goals["errors (non-2xx/3xx, socket), every row"]
        self.assertEqual(errors["measured"], 11)
        self.assertIn("GET /: 3", errors["detail"])
        self.assertIn("POST /auth/login: 1", errors["detail"])  # no request finished
        self.assertIn("sweep POST /users @256: 7", errors["detail"])
        self.assertIs(errors["met"], False)

    def test_Main_PrintsTheTablesAndWritesTheResults(self):
        with tempfile.TemporaryDirectory() as results, redirect_stdout(io.StringIO()) as out:
            report.main([str(FIXTURE), "12000", "13000", results, "partial", "fixture"])
            written = json.loads((Path(results) / "partial.json").read_text())
        self.assertEqual(len(written["goals"]), 16)
        self.assertEqual(written["meta"], {})
        self.assertIn("n/a", out.getvalue())
        self.assertIn("1000000", out.getvalue())
        self.assertIn("service process: ? threads", out.getvalue())

    def test_Main_PrintsCtxPerRequestAndTheThreadCount(self):
        rows = copy.deepcopy(self.rows)
        row(rows, "service", "GET /users/{id}")["ctx_switches"] = 15000
        row(rows, "sweep", "GET /users/{id}", 1)["ctx_switches"] = 40000
        rows.append({"kind": "meta", "threads": 7})
        out, written = run_main(rows)
        lines = out.splitlines()
        self.assertIn("ctx/req", next(l for l in lines if l.startswith("endpoint ") and "limit" in l))
        self.assertIn("ctx/req", next(l for l in lines if l.startswith("endpoint ") and "conns" in l))
        by_id = next(l for l in lines if l.startswith("GET /users/{id} ") and "pgbench" in l)
        self.assertRegex(by_id, r" 0 +0\.05  pgbench SELECT by id")
        self.assertRegex(next(l for l in lines if l.startswith("GET /ping ")), r" 0 +-  nginx")
        self.assertRegex(next(l for l in lines if l.startswith("GET /users/{id} ") and " 1 " in l[:26]),
                         r" 0 +2\.00$")
        self.assertIn("service process: 7 threads", lines[1])
        self.assertEqual(written["meta"], {"threads": 7})
        self.assertEqual(next(r for r in written["rows"] if r["endpoint"] == "GET /users/{id}")["ctx_switches"],
                         15000)
        ctx_line = next(l for l in lines if l.startswith(CTX_GOAL))
        self.assertRegex(ctx_line, r"0\.050 +< 0\.10  yes")

    def with_log_run(self, requests, dropped, lines=None):
        """The fixture plus the log A/B's row (GET /users/{id} there: 300000 requests)."""
        rows = copy.deepcopy(self.rows)
        rows.append({"name": "GET /users/{id} log at info", "kind": "service", "connections": 64,
                     "wrk": {"requests": requests, "duration_us": 10000000, "p50_ms": 2.0, "p99_ms": 5.0,
                             "socket_errors": 0, "non_2xx": 0}})
        rows.append({"kind": "meta", "info_log_dropped": dropped, "info_log_lines": lines or requests})
        return rows

    def test_LogGoal_InfoOverWarnWithinTenPercent_IsMet(self):
        rows = self.with_log_run(280000, 0)
        log = goals_of(rows)[LOG_GOAL]
        self.assertAlmostEqual(log["measured"], 280000 / 300000)
        self.assertIs(log["met"], True)
        self.assertEqual(log["detail"], "28000 / 30000 req/s; 280000 lines logged, 0 dropped")
        out, _ = run_main(rows)
        line = next(l for l in out.splitlines() if l.startswith("GET /users/{id} log at info "))
        self.assertRegex(line, r"GET /users/\{id\} +30000 +0\.93 +0\.90 ok$")

    def test_LogGoal_MoreThanTenPercentSlower_IsNotMet(self):
        log = goals_of(self.with_log_run(260000, 0))[LOG_GOAL]
        self.assertAlmostEqual(log["measured"], 260000 / 300000)
        self.assertIs(log["met"], False)

    def test_LogGoal_LinesDropped_IsNotMetWhateverTheRatio(self):
        log = goals_of(self.with_log_run(300000, 12, 299988))[LOG_GOAL]
        self.assertAlmostEqual(log["measured"], 1.0)
        self.assertIs(log["met"], False)
        self.assertIn("299988 lines logged, 12 dropped", log["detail"])

    def test_LogGoal_WithoutTheLogRun_IsNotApplicable(self):
        log = self.goals[LOG_GOAL]
        self.assertIsNone(log["measured"])
        self.assertIsNone(log["met"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
