#!/usr/bin/env python3
"""bench/report.py on a small rows file: the limit is pgbench's best client
count, an endpoint without its route is n/a, and each goal is met or not as
its numbers say."""
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


def goals_by_text(goals):
    return {g["goal"]: g for g in goals}


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
        self.assertIs(self.goals["GET /ping / nginx self"]["met"], True)

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

    def test_P99Goal_NamesTheWorstEndpoint(self):
        p99 = self.goals["p99 at 64 connections, every endpoint (worst)"]
        self.assertEqual(p99["measured"], 60.0)
        self.assertEqual(p99["detail"], "GET /")
        self.assertIs(p99["met"], False)

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
        self.assertEqual(len(written["goals"]), 11)
        self.assertIn("n/a", out.getvalue())
        self.assertIn("1000000", out.getvalue())


if __name__ == "__main__":
    unittest.main(verbosity=2)
