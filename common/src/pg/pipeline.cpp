#include "pg/pipeline.hpp"

#include <libpq-fe.h>

#include <cstring>
#include <stdexcept>
#include <utility>

#include "common/text.hpp"

namespace common::pg {

namespace {

std::string trimmed(const char* message) {
  return std::string(trim_end(message ? message : "", " \t\n"));
}

std::string error_of(PGconn* connection) {
  std::string message = trimmed(PQerrorMessage(connection));
  return message.empty() ? "connection failed" : message;
}

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

void check(PGconn* connection, const Result& result, const std::string& what) {
  auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
  std::string message = result ? trimmed(PQresultErrorMessage(result.get())) : "";
  if (message.empty()) message = error_of(connection);
  throw std::runtime_error(what + ": " + message);
}

}  // namespace

std::unique_ptr<Pipeline> Pipeline::connect(
    const std::string& url, const std::vector<std::string>& setup,
    const std::vector<std::pair<std::string, std::string>>& prepared) {
  PGconn* connection = PQconnectdb(url.c_str());
  if (!connection) throw std::runtime_error("out of memory for a PostgreSQL connection");
  // From here on the Pipeline owns the connection, so every throw closes it.
  std::unique_ptr<Pipeline> pipeline(new Pipeline(connection));
  if (PQstatus(connection) != CONNECTION_OK) throw std::runtime_error(error_of(connection));
  // Also replaces the default processor, which prints every notice to stderr.
  PQsetNoticeReceiver(connection, &Pipeline::on_notice, pipeline.get());

  for (const auto& sql : setup) {
    check(connection, Result(PQexec(connection, sql.c_str()), PQclear), "setup failed");
  }
  for (const auto& [name, sql] : prepared) {
    check(connection, Result(PQprepare(connection, name.c_str(), sql.c_str(), 0, nullptr), PQclear),
          "could not prepare " + name);
  }
  if (PQsetnonblocking(connection, 1) != 0 || PQenterPipelineMode(connection) != 1) {
    throw std::runtime_error("could not enter pipeline mode: " + error_of(connection));
  }
  return pipeline;
}

Pipeline::Pipeline(pg_conn* connection) : connection_(connection) {}

Pipeline::~Pipeline() {
  fail_all("connection closed");
  PQfinish(connection_);
}

int Pipeline::fd() const {
  return PQsocket(connection_);
}

bool Pipeline::wants_write() const {
  return wants_write_;
}

bool Pipeline::broken() const {
  return broken_;
}

std::size_t Pipeline::in_flight() const {
  return batches_.size();
}

void Pipeline::send(const std::vector<Statement>& statements, Done done) {
  if (broken_) {
    Outcome outcome;
    outcome.status = Outcome::Status::broken;
    outcome.message = "connection is broken";
    done(std::move(outcome));
    return;
  }
  // Queued first, so that a failure below completes it through fail_all().
  Batch batch;
  batch.statements = statements.size();
  batch.done = std::move(done);
  batches_.push_back(std::move(batch));

  std::vector<const char*> values;
  for (const auto& statement : statements) {
    values.clear();
    for (const auto& param : statement.params) values.push_back(param ? param->c_str() : nullptr);
    if (!PQsendQueryPrepared(connection_, statement.name.c_str(), static_cast<int>(values.size()),
                             values.data(), nullptr, nullptr, 0)) {
      fail_all(error_of(connection_));
      return;
    }
  }
  if (!PQpipelineSync(connection_)) {
    fail_all(error_of(connection_));
    return;
  }
  flush();
}

void Pipeline::read_buffered() {
  // A flush that finds the socket full reads what the server sent meanwhile
  // (libpq does, to avoid a deadlock): those results are in libpq's buffer
  // and the socket will not say so again.
  read_results();
}

void Pipeline::on_readable() {
  if (broken_) return;
  if (!PQconsumeInput(connection_)) {
    fail_all(error_of(connection_));
    return;
  }
  read_results();
  if (broken_) return;
  if (PQstatus(connection_) == CONNECTION_BAD) {
    fail_all(error_of(connection_));
    return;
  }
  // PQconsumeInput also sends, so what is left to send may have changed.
  flush();
}

void Pipeline::on_writable() {
  flush();
  read_results();
}

void Pipeline::flush() {
  if (broken_) return;
  switch (PQflush(connection_)) {
    case 0:
      wants_write_ = false;
      break;
    case 1:
      wants_write_ = true;
      break;
    default:
      fail_all(error_of(connection_));
  }
}

void Pipeline::read_results() {
  // PQisBusy() false means PQgetResult() will not wait for the socket.
  while (!broken_ && !batches_.empty() && PQstatus(connection_) != CONNECTION_BAD &&
         !PQisBusy(connection_)) {
    PGresult* result = PQgetResult(connection_);
    if (!result) {
      // The end of one statement's results; a NULL without a result before it
      // means libpq has nothing more, so do not spin on it.
      if (!in_statement_) break;
      in_statement_ = false;
      ++batches_.front().next;
      continue;
    }
    Outcome& outcome = batches_.front().outcome;
    switch (PQresultStatus(result)) {
      case PGRES_PIPELINE_SYNC:
        // Not followed by a NULL.
        PQclear(result);
        in_statement_ = false;
        complete_front();
        continue;
      case PGRES_TUPLES_OK:
      case PGRES_COMMAND_OK:
        outcome.rows.emplace_back(result);
        break;
      case PGRES_EMPTY_QUERY:
        outcome.rows.emplace_back();
        PQclear(result);
        break;
      case PGRES_FATAL_ERROR:
        // The first error is the cause; later statements only say "aborted".
        if (outcome.status == Outcome::Status::ok) {
          outcome.status = Outcome::Status::sql_error;
          const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
          outcome.sqlstate = sqlstate ? sqlstate : "";
          outcome.message = trimmed(PQresultErrorMessage(result));
        }
        PQclear(result);
        break;
      default:  // PGRES_PIPELINE_ABORTED and anything unexpected
        PQclear(result);
    }
    in_statement_ = true;
  }
}

void Pipeline::complete_front() {
  // Popped before `done` runs: it may send() the next batch.
  Batch batch = std::move(batches_.front());
  batches_.pop_front();
  if (batch.outcome.status == Outcome::Status::sql_error) batch.outcome.rows.clear();
  batch.done(std::move(batch.outcome));
}

void Pipeline::fail_all(const std::string& why) {
  broken_ = true;
  wants_write_ = false;
  std::deque<Batch> failed;
  failed.swap(batches_);
  for (auto& batch : failed) {
    Outcome outcome;
    outcome.status = Outcome::Status::broken;
    outcome.message = why;
    outcome.unconfirmed = batch.outcome.unconfirmed;
    outcome.warning = std::move(batch.outcome.warning);
    batch.done(std::move(outcome));
  }
}

void Pipeline::on_notice(void* self, const pg_result* notice) {
  auto* pipeline = static_cast<Pipeline*>(self);
  if (pipeline->batches_.empty()) return;  // during connect(): nothing to confirm
  // The untranslated severity (PostgreSQL 9.6+); the localized one otherwise.
  const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (!severity) severity = PQresultErrorField(notice, PG_DIAG_SEVERITY);
  if (!severity || std::strcmp(severity, "WARNING") != 0) return;
  Outcome& outcome = pipeline->batches_.front().outcome;
  if (outcome.unconfirmed) return;  // the first one is the cause
  outcome.unconfirmed = true;
  const char* sqlstate = PQresultErrorField(notice, PG_DIAG_SQLSTATE);
  const char* text = PQresultErrorField(notice, PG_DIAG_MESSAGE_PRIMARY);
  outcome.warning = std::string(sqlstate ? sqlstate : "?????") + " " + trimmed(text);
}

// The values, and why, are at the declaration (pipeline.hpp).
std::string with_socket_limits(std::string url) {
  static const std::pair<const char*, const char*> kDefaults[] = {
      {"connect_timeout", "3"},     {"keepalives", "1"},       {"keepalives_idle", "10"},
      {"keepalives_interval", "5"}, {"keepalives_count", "3"}, {"tcp_user_timeout", "10000"},
  };
  for (const auto& [name, value] : kDefaults) {
    auto query = url.find('?');
    std::string key = std::string(name) + "=";
    bool set = false;
    for (auto pos = query; pos != std::string::npos; pos = url.find('&', pos + 1)) {
      if (url.compare(pos + 1, key.size(), key) == 0) set = true;
    }
    if (set) continue;
    url += (query == std::string::npos ? '?' : '&');
    url += key + value;
  }
  return url;
}

}  // namespace common::pg
