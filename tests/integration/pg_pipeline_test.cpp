// common::pg::Pipeline against a real PostgreSQL, driven by a small poll()
// loop as the service's event loop would: batches complete in order with
// their own results, a failed batch is rolled back alone, a lost connection
// completes every batch, and nothing ever blocks on the socket.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pg/pipeline.hpp"
#include "support/free_port.hpp"
#include "support/pg_cluster.hpp"

namespace {

using common::Statement;
using common::pg::Outcome;
using common::pg::Pipeline;
using Status = Outcome::Status;

std::unique_ptr<support::PgCluster>& cluster() {
  static std::unique_ptr<support::PgCluster> instance;
  return instance;
}

std::string& database_url() {
  static std::string url;
  return url;
}

// Runs `sql` (one or more statements) on a fresh blocking connection and
// returns the first cell of the last result, "" when there is none.
std::string query(const std::string& sql) {
  PGconn* connection = PQconnectdb(database_url().c_str());
  PQsetNoticeProcessor(
      connection, [](void*, const char*) {}, nullptr);
  if (PQstatus(connection) != CONNECTION_OK) {
    std::string message = PQerrorMessage(connection);
    PQfinish(connection);
    throw std::runtime_error(message);
  }
  PGresult* result = PQexec(connection, sql.c_str());
  auto status = PQresultStatus(result);
  std::string value;
  if (status == PGRES_TUPLES_OK && PQntuples(result) > 0) value = PQgetvalue(result, 0, 0);
  std::string message = PQresultErrorMessage(result);
  PQclear(result);
  PQfinish(connection);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(sql + ": " + message);
  }
  return value;
}

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    cluster() = std::make_unique<support::PgCluster>();
    cluster()->create_database("pipeline_test");
    database_url() = cluster()->url("pipeline_test");
    query(
        "CREATE TABLE items (key text PRIMARY KEY, value text);"
        "CREATE TABLE deferred (key text UNIQUE DEFERRABLE INITIALLY DEFERRED);"
        "CREATE FUNCTION warn(message text) RETURNS int LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE WARNING '%', message; RETURN 1; END $$;"
        "CREATE FUNCTION note(message text) RETURNS int LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE NOTICE '%', message; RETURN 1; END $$;");
  }
  void TearDown() override { cluster().reset(); }
};

const std::vector<std::pair<std::string, std::string>> kPrepared = {
    {"plus_one", "SELECT $1::bigint + 1 AS n"},
    {"nullable", "SELECT $1::text IS NULL AS is_null, $1::text AS value"},
    {"insert", "INSERT INTO items (key, value) VALUES ($1::text, $2::text)"},
    {"count", "SELECT count(*) FROM items WHERE key LIKE $1::text"},
    {"series", "SELECT g, 'row ' || g FROM generate_series(1, $1::int) AS g"},
    {"pid", "SELECT pg_backend_pid()"},
    {"sleep", "SELECT pg_sleep($1::float8)"},
    {"length", "SELECT length($1::text)"},
    {"insert_deferred", "INSERT INTO deferred (key) VALUES ($1::text)"},
    {"warn", "SELECT warn($1::text)"},
    {"do_warn", "DO $$ BEGIN RAISE WARNING 'from a DO block'; END $$"},
    {"note", "SELECT note($1::text)"},
};

std::unique_ptr<Pipeline> open() {
  return Pipeline::connect(database_url(), {"SET statement_timeout = 60000"}, kPrepared);
}

Statement statement(std::string name, std::vector<std::optional<std::string>> params = {}) {
  return Statement{std::move(name), std::move(params)};
}

// The event loop: polls the pipeline's socket until `finished` holds or the
// deadline passes (false then, instead of hanging the test).
bool drive(Pipeline& pipeline, const std::function<bool()>& finished,
           std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!finished()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    pollfd watched{pipeline.fd(),
                   static_cast<short>(POLLIN | (pipeline.wants_write() ? POLLOUT : 0)), 0};
    int ready = ::poll(&watched, 1, 50);
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) continue;
    if (watched.revents & POLLOUT) pipeline.on_writable();
    if (watched.revents & (POLLIN | POLLHUP | POLLERR)) pipeline.on_readable();
  }
  return true;
}

// Sends one batch and waits for its outcome.
Outcome run(Pipeline& pipeline, std::vector<Statement> statements) {
  std::optional<Outcome> outcome;
  pipeline.send(std::move(statements), [&](Outcome o) { outcome = std::move(o); });
  EXPECT_TRUE(drive(pipeline, [&] { return outcome.has_value(); })) << "no outcome in time";
  if (outcome) return std::move(*outcome);
  Outcome failed;
  failed.status = Status::broken;
  failed.message = "timed out";
  return failed;
}

class PgPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    query("TRUNCATE items; TRUNCATE deferred");
    pipeline_ = open();
  }
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(PgPipeline, PreparedSelectWithAParameter) {
  auto outcome = run(*pipeline_, {statement("plus_one", {"41"})});
  ASSERT_EQ(outcome.status, Status::ok) << outcome.message;
  ASSERT_EQ(outcome.rows.size(), 1u);
  EXPECT_EQ(outcome.rows[0].size(), 1);
  EXPECT_EQ(outcome.rows[0].columns(), 1);
  EXPECT_EQ(outcome.rows[0].integer(0, 0), 42);
  EXPECT_EQ(outcome.rows[0].text(0, 0), "42");
  EXPECT_FALSE(outcome.unconfirmed);
  EXPECT_EQ(pipeline_->in_flight(), 0u);
  EXPECT_FALSE(pipeline_->broken());
}

TEST_F(PgPipeline, TwoStatementsGiveTwoRowsInOrder) {
  auto outcome = run(*pipeline_, {statement("insert", {"a", "first"}), statement("count", {"%"})});
  ASSERT_EQ(outcome.status, Status::ok) << outcome.message;
  ASSERT_EQ(outcome.rows.size(), 2u);
  EXPECT_EQ(outcome.rows[0].affected(), 1);
  EXPECT_TRUE(outcome.rows[0].empty());
  EXPECT_EQ(outcome.rows[1].integer(0, 0), 1);  // sees the row inserted before it
  EXPECT_EQ(query("SELECT value FROM items WHERE key = 'a'"), "first");
}

TEST_F(PgPipeline, NullParametersAndValues) {
  auto outcome = run(*pipeline_, {statement("nullable", {std::nullopt}),
                                  statement("nullable", {""}), statement("nullable", {"x"})});
  ASSERT_EQ(outcome.status, Status::ok) << outcome.message;
  ASSERT_EQ(outcome.rows.size(), 3u);
  EXPECT_TRUE(outcome.rows[0].boolean(0, 0));
  EXPECT_TRUE(outcome.rows[0].is_null(0, 1));
  EXPECT_EQ(outcome.rows[0].text(0, 1), "");
  EXPECT_FALSE(outcome.rows[1].boolean(0, 0));  // the empty string is not NULL
  EXPECT_FALSE(outcome.rows[1].is_null(0, 1));
  EXPECT_EQ(outcome.rows[1].text(0, 1), "");
  EXPECT_FALSE(outcome.rows[2].boolean(0, 0));
  EXPECT_EQ(outcome.rows[2].text(0, 1), "x");

  auto inserted = run(*pipeline_, {statement("insert", {"null value", std::nullopt})});
  ASSERT_EQ(inserted.status, Status::ok) << inserted.message;
  EXPECT_EQ(query("SELECT value IS NULL FROM items WHERE key = 'null value'"), "t");
}

TEST_F(PgPipeline, FiftyBatchesSentBeforeReadingCompleteInOrder) {
  std::vector<std::pair<int, Outcome>> outcomes;
  for (int i = 0; i < 50; ++i) {
    pipeline_->send(
        {statement("plus_one", {std::to_string(i)}),
         statement("plus_one", {std::to_string(1000 + i)})},
        [&outcomes, i](Outcome outcome) { outcomes.emplace_back(i, std::move(outcome)); });
  }
  EXPECT_EQ(pipeline_->in_flight(), 50u);
  EXPECT_TRUE(outcomes.empty());
  ASSERT_TRUE(drive(*pipeline_, [&] { return outcomes.size() == 50; }));
  for (int i = 0; i < 50; ++i) {
    const auto& [sent, outcome] = outcomes[i];
    EXPECT_EQ(sent, i);
    ASSERT_EQ(outcome.status, Status::ok) << outcome.message;
    ASSERT_EQ(outcome.rows.size(), 2u);
    EXPECT_EQ(outcome.rows[0].integer(0, 0), i + 1);
    EXPECT_EQ(outcome.rows[1].integer(0, 0), 1000 + i + 1);
  }
  EXPECT_EQ(pipeline_->in_flight(), 0u);
}

TEST_F(PgPipeline, UniqueViolationFailsItsBatchOnlyAndRollsItBack) {
  query("INSERT INTO items VALUES ('taken', 'old')");
  std::optional<Outcome> failed, next;
  pipeline_->send({statement("insert", {"rolled back", "x"}), statement("insert", {"taken", "new"}),
                   statement("plus_one", {"1"})},
                  [&](Outcome outcome) { failed = std::move(outcome); });
  pipeline_->send({statement("insert", {"after", "y"})},
                  [&](Outcome outcome) { next = std::move(outcome); });
  ASSERT_TRUE(drive(*pipeline_, [&] { return failed && next; }));

  EXPECT_EQ(failed->status, Status::sql_error);
  EXPECT_EQ(failed->sqlstate, "23505");
  EXPECT_NE(failed->message.find("duplicate key"), std::string::npos) << failed->message;
  ASSERT_EQ(next->status, Status::ok) << next->message;
  EXPECT_EQ(next->rows[0].affected(), 1);
  EXPECT_EQ(query("SELECT count(*) FROM items WHERE key = 'rolled back'"), "0");
  EXPECT_EQ(query("SELECT value FROM items WHERE key = 'taken'"), "old");
  EXPECT_EQ(query("SELECT count(*) FROM items WHERE key = 'after'"), "1");
  EXPECT_FALSE(pipeline_->broken());
}

TEST_F(PgPipeline, ErrorAtCommitFailsTheBatch) {
  // A deferred constraint is checked by the COMMIT that the Sync runs.
  auto outcome =
      run(*pipeline_, {statement("insert_deferred", {"k"}), statement("insert_deferred", {"k"})});
  EXPECT_EQ(outcome.status, Status::sql_error);
  EXPECT_EQ(outcome.sqlstate, "23505");
  EXPECT_EQ(query("SELECT count(*) FROM deferred"), "0");
  auto after = run(*pipeline_, {statement("plus_one", {"1"})});
  ASSERT_EQ(after.status, Status::ok) << after.message;
  EXPECT_EQ(after.rows[0].integer(0, 0), 2);
}

TEST_F(PgPipeline, BadParameterIsAnSqlError) {
  auto outcome = run(*pipeline_, {statement("plus_one", {"not a number"})});
  EXPECT_EQ(outcome.status, Status::sql_error);
  EXPECT_EQ(outcome.sqlstate, "22P02");
  EXPECT_EQ(run(*pipeline_, {statement("plus_one", {"1"})}).status, Status::ok);
}

TEST_F(PgPipeline, TenThousandRows) {
  auto outcome = run(*pipeline_, {statement("series", {"10000"})});
  ASSERT_EQ(outcome.status, Status::ok) << outcome.message;
  ASSERT_EQ(outcome.rows.size(), 1u);
  const auto& rows = outcome.rows[0];
  ASSERT_EQ(rows.size(), 10000);
  EXPECT_EQ(rows.columns(), 2);
  for (int i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows.integer(i, 0), i + 1);
    ASSERT_EQ(rows.text(i, 1), "row " + std::to_string(i + 1));
  }
}

TEST_F(PgPipeline, LargeParameterIsSentAsTheSocketTakesIt) {
  std::string big(8 * 1024 * 1024, 'x');
  std::optional<Outcome> outcome;
  pipeline_->send({statement("length", {big}), statement("length", {big})},
                  [&](Outcome o) { outcome = std::move(o); });
  EXPECT_TRUE(pipeline_->wants_write());  // more than a socket buffer holds
  ASSERT_TRUE(drive(*pipeline_, [&] { return outcome.has_value(); }));
  ASSERT_EQ(outcome->status, Status::ok) << outcome->message;
  EXPECT_EQ(outcome->rows[0].integer(0, 0), 8 * 1024 * 1024);
  EXPECT_EQ(outcome->rows[1].integer(0, 0), 8 * 1024 * 1024);
  EXPECT_FALSE(pipeline_->wants_write());
}

TEST_F(PgPipeline, RowsOutliveTheirPipelineAndCheckTheirCells) {
  auto outcome = run(*pipeline_, {statement("nullable", {"text"})});
  pipeline_.reset();
  ASSERT_EQ(outcome.status, Status::ok) << outcome.message;
  auto copy = outcome.rows[0];
  outcome.rows.clear();
  EXPECT_EQ(copy.text(0, 1), "text");
  EXPECT_THROW(copy.integer(0, 1), std::runtime_error);
  EXPECT_THROW(copy.integer(0, 0), std::runtime_error);  // "f"
  EXPECT_THROW(copy.text(1, 0), std::out_of_range);
  EXPECT_THROW(copy.text(0, 2), std::out_of_range);
  common::Rows none;
  EXPECT_EQ(none.size(), 0);
  EXPECT_EQ(none.affected(), 0);
}

TEST_F(PgPipeline, TerminatedBackendBreaksInFlightAndLaterBatches) {
  auto pid = run(*pipeline_, {statement("pid")});
  ASSERT_EQ(pid.status, Status::ok) << pid.message;
  auto backend = pid.rows[0].integer(0, 0);

  std::optional<Outcome> sleeping;
  pipeline_->send({statement("sleep", {"30"})},
                  [&](Outcome outcome) { sleeping = std::move(outcome); });
  // Let the statement reach the server before it goes.
  ASSERT_TRUE(drive(*pipeline_, [&] { return !pipeline_->wants_write(); }));
  EXPECT_EQ(query("SELECT pg_terminate_backend(" + std::to_string(backend) + ")"), "t");
  ASSERT_TRUE(drive(*pipeline_, [&] { return sleeping.has_value(); }));
  EXPECT_EQ(sleeping->status, Status::broken);
  EXPECT_FALSE(sleeping->message.empty());
  EXPECT_TRUE(pipeline_->broken());
  EXPECT_EQ(pipeline_->in_flight(), 0u);

  std::optional<Outcome> later;
  pipeline_->send({statement("plus_one", {"1"})},
                  [&](Outcome outcome) { later = std::move(outcome); });
  ASSERT_TRUE(later.has_value());  // at once, from send() itself
  EXPECT_EQ(later->status, Status::broken);
  EXPECT_EQ(later->message, "connection is broken");
}

TEST_F(PgPipeline, DoneMaySendTheNextBatch) {
  std::vector<long long> seen;
  std::function<void(Outcome)> chain = [&](Outcome outcome) {
    ASSERT_EQ(outcome.status, Status::ok) << outcome.message;
    seen.push_back(outcome.rows[0].integer(0, 0));
    if (seen.size() < 5)
      pipeline_->send({statement("plus_one", {std::to_string(seen.back())})}, chain);
  };
  pipeline_->send({statement("plus_one", {"0"})}, chain);
  ASSERT_TRUE(drive(*pipeline_, [&] { return seen.size() == 5; }));
  EXPECT_EQ(seen, (std::vector<long long>{1, 2, 3, 4, 5}));
  EXPECT_EQ(pipeline_->in_flight(), 0u);
}

TEST_F(PgPipeline, ClosingCompletesInFlightBatches) {
  std::vector<Outcome> outcomes;
  for (int i = 0; i < 3; ++i) {
    pipeline_->send({statement("sleep", {"0.2"})},
                    [&](Outcome outcome) { outcomes.push_back(std::move(outcome)); });
  }
  pipeline_.reset();
  ASSERT_EQ(outcomes.size(), 3u);
  for (const auto& outcome : outcomes) {
    EXPECT_EQ(outcome.status, Status::broken);
    EXPECT_EQ(outcome.message, "connection closed");
  }
}

// Any WARNING while a batch runs leaves its COMMIT unconfirmed, whatever its
// text (a cancelled wait for the synchronous standby says so only in a
// translated message with the generic SQLSTATE 01000); a NOTICE does not.
TEST_F(PgPipeline, AnyWarningMarksTheBatchUnconfirmedAndNoticesStayOffStderr) {
  ::testing::internal::CaptureStderr();
  auto plain = run(*pipeline_, {statement("insert", {"w", "x"}), statement("warn", {"any text"})});
  auto cancelled = run(*pipeline_, {statement("warn", {"canceling the wait for synchronous "
                                                       "replication and terminating connection "
                                                       "due to administrator command"})});
  auto from_do = run(*pipeline_, {statement("insert", {"d", "x"}), statement("do_warn")});
  auto noticed = run(*pipeline_, {statement("insert", {"n", "x"}), statement("note", {"fyi"})});
  auto next = run(*pipeline_, {statement("plus_one", {"1"})});
  std::string printed = ::testing::internal::GetCapturedStderr();
  for (const auto* outcome : {&plain, &cancelled, &from_do, &noticed, &next}) {
    ASSERT_EQ(outcome->status, Status::ok) << outcome->message;
  }
  EXPECT_TRUE(plain.unconfirmed);
  EXPECT_EQ(plain.warning, "01000 any text");
  EXPECT_TRUE(cancelled.unconfirmed);
  EXPECT_TRUE(from_do.unconfirmed);
  EXPECT_EQ(from_do.warning, "01000 from a DO block");
  EXPECT_FALSE(noticed.unconfirmed);
  EXPECT_FALSE(next.unconfirmed) << "a warning marks its own batch only";
  EXPECT_EQ(printed, "");
}

// A WARNING in a batch that then fails: the failure wins (the caller sees an
// SQL error), and the mark does not leak into the next batch.
TEST_F(PgPipeline, WarningThenErrorIsAnSqlErrorAndTheNextBatchIsClean) {
  auto failed = run(*pipeline_, {statement("warn", {"w"}), statement("insert", {"k", "1"}),
                                 statement("insert", {"k", "2"})});
  EXPECT_EQ(failed.status, Status::sql_error);
  EXPECT_EQ(failed.sqlstate, "23505");
  auto next = run(*pipeline_, {statement("insert", {"k", "3"})});
  ASSERT_EQ(next.status, Status::ok) << next.message;
  EXPECT_FALSE(next.unconfirmed);
}

TEST(PgPipelineConnect, RefusedConnectionThrowsWithoutThePassword) {
  std::string url =
      "postgresql://postgres:pipeline-s3cret@127.0.0.1:" + std::to_string(support::free_port()) +
      "/pipeline_test?connect_timeout=3";
  try {
    Pipeline::connect(url, {}, kPrepared);
    FAIL() << "connected to a port nothing listens on";
  } catch (const std::runtime_error& error) {
    std::string message = error.what();
    EXPECT_FALSE(message.empty());
    EXPECT_EQ(message.find("pipeline-s3cret"), std::string::npos) << message;
    EXPECT_NE(message.back(), '\n');
  }
}

int socket_option(int fd, int level, int name) {
  int value = -1;
  socklen_t size = sizeof value;
  if (::getsockopt(fd, level, name, &value, &size) != 0) return -1;
  return value;
}

// The database sockets carry TCP keepalive and TCP_USER_TIMEOUT (so a server
// gone without a reset is found), with what the URL says winning.
TEST(PgPipelineConnect, SocketLimitsAreSetUnlessTheUrlSetsThem) {
  auto pipeline = Pipeline::connect(common::pg::with_socket_limits(database_url()), {}, kPrepared);
  int fd = pipeline->fd();
  EXPECT_EQ(socket_option(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(socket_option(fd, IPPROTO_TCP, TCP_KEEPIDLE), 10);
  EXPECT_EQ(socket_option(fd, IPPROTO_TCP, TCP_KEEPINTVL), 5);
  EXPECT_EQ(socket_option(fd, IPPROTO_TCP, TCP_KEEPCNT), 3);
  EXPECT_EQ(socket_option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 10000);

  auto own = Pipeline::connect(
      common::pg::with_socket_limits(database_url() + "?keepalives_idle=30&tcp_user_timeout=2500"),
      {}, kPrepared);
  EXPECT_EQ(socket_option(own->fd(), IPPROTO_TCP, TCP_KEEPIDLE), 30);
  EXPECT_EQ(socket_option(own->fd(), IPPROTO_TCP, TCP_USER_TIMEOUT), 2500);
  EXPECT_EQ(socket_option(own->fd(), IPPROTO_TCP, TCP_KEEPINTVL), 5);

  auto url = common::pg::with_socket_limits("postgresql://h/db?connect_timeout=7&keepalives=0");
  EXPECT_NE(url.find("?connect_timeout=7&keepalives=0&keepalives_idle=10&"), std::string::npos)
      << url;
  EXPECT_EQ(url.find("connect_timeout=3"), std::string::npos) << url;
}

TEST(PgPipelineConnect, BadSetupOrStatementThrows) {
  EXPECT_THROW(Pipeline::connect(database_url(), {"SET no_such_setting = 1"}, {}),
               std::runtime_error);
  try {
    Pipeline::connect(database_url(), {}, {{"broken", "SELECT * FROM no_such_table"}});
    FAIL() << "prepared a statement on a missing table";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("no_such_table"), std::string::npos) << error.what();
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new Environment);
  return RUN_ALL_TESTS();
}
