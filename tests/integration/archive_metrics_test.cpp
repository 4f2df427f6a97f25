// /metrics reports the database's WAL archiving (pg_stat_archiver) on a real
// PostgreSQL with archive_mode on: segments archived, failed attempts, and
// the age of the last archived segment. Its own binary: it restarts its
// cluster to turn archiving on.
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <sstream>
#include <thread>

#include "service_fixture.hpp"

namespace {

using namespace std::chrono_literals;

// ALTER SYSTEM refuses to run inside a transaction block.
void run_outside_transaction(const std::string& sql) {
  pqxx::connection connection(fixture::service().database_url);
  pqxx::nontransaction work(connection);
  work.exec(sql);
}

// The value of an unlabelled sample in /metrics, or nullopt when absent.
std::optional<double> sample(const std::string& metrics, const std::string& name) {
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return std::nullopt;
}

std::string scrape() {
  auto response = support::http_request(fixture::service().app->port(), "GET", "/metrics");
  EXPECT_EQ(response.status, 200);
  return response.body;
}

// Waits (up to 30 s) until pg_stat_archiver's `column` reaches at least `least`.
bool archiver_reaches(const std::string& column, long long least) {
  for (auto deadline = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(100ms)) {
    if (fixture::execute("SELECT " + column + " FROM pg_stat_archiver")[0][0].as<long long>() >=
        least)
      return true;
  }
  return false;
}

// Something to archive: a write, then a switch to the next segment.
void fill_and_switch_segment() {
  fixture::execute(
      "CREATE TABLE IF NOT EXISTS archive_probe (n int); INSERT INTO archive_probe VALUES (1)");
  fixture::execute("SELECT pg_switch_wal()");
}

bool wait_ready() {
  for (auto deadline = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(100ms)) {
    if (support::http_request(fixture::service().app->port(), "GET", "/health/ready").status == 200)
      return true;
  }
  return false;
}

TEST(WalArchiveMetrics, ArchivingOn_ReportsSegmentsFailuresAndTheAgeOfTheLast) {
  auto& s = fixture::service();
  // Archiving off: counters at zero, no age (nothing was ever archived).
  auto before = scrape();
  EXPECT_EQ(sample(before, "pg_wal_archived_total"), 0.0) << before;
  EXPECT_EQ(sample(before, "pg_wal_archive_failed_total"), 0.0) << before;
  EXPECT_FALSE(sample(before, "pg_wal_archive_age_seconds")) << before;

  char pattern[] = "/tmp/users-archive-XXXXXX";
  ASSERT_TRUE(::mkdtemp(pattern));
  std::string archive = pattern;
  // The cluster's user (postgres, when the tests run as root) writes there.
  std::filesystem::permissions(archive, std::filesystem::perms::all);
  run_outside_transaction("ALTER SYSTEM SET archive_mode = on");
  run_outside_transaction("ALTER SYSTEM SET archive_command = 'test ! -f " + archive +
                          "/%f && cp %p " + archive + "/%f'");
  s.cluster->stop();  // archive_mode needs a restart
  s.cluster->start();
  ASSERT_TRUE(wait_ready());

  fill_and_switch_segment();
  ASSERT_TRUE(archiver_reaches("archived_count", 1));
  auto archived = scrape();
  EXPECT_GE(sample(archived, "pg_wal_archived_total").value_or(0), 1.0) << archived;
  EXPECT_EQ(sample(archived, "pg_wal_archive_failed_total"), 0.0) << archived;
  auto age = sample(archived, "pg_wal_archive_age_seconds");
  ASSERT_TRUE(age) << archived;
  EXPECT_GE(*age, 0.0);
  EXPECT_LT(*age, 60.0);

  // An archive command that fails: counted, and the age no longer moves on.
  run_outside_transaction("ALTER SYSTEM SET archive_command = 'false'");
  fixture::execute("SELECT pg_reload_conf()");
  fill_and_switch_segment();
  ASSERT_TRUE(archiver_reaches("failed_count", 1));
  auto failing = scrape();
  EXPECT_GE(sample(failing, "pg_wal_archive_failed_total").value_or(0), 1.0) << failing;
  EXPECT_EQ(sample(failing, "pg_wal_archived_total"), sample(archived, "pg_wal_archived_total"));

  // Back to a working command and off again, so the cluster stops cleanly.
  run_outside_transaction("ALTER SYSTEM RESET archive_command");
  run_outside_transaction("ALTER SYSTEM RESET archive_mode");
  fixture::execute("SELECT pg_reload_conf()");
  std::filesystem::remove_all(archive);
}

}  // namespace
