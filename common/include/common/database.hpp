// The service's PostgreSQL, as the event loops use it: each loop owns its
// connections (in libpq's pipeline mode, watched by the loop like any
// socket), and a statement runs in the calling fiber, which suspends until
// the result is there -- the loop never blocks. Connecting happens on one
// helper thread that hands each loop a ready connection (statements
// prepared), so an unreachable database never stalls a loop either: while it
// is down, callers get DatabaseUnavailable at once and connections are tried
// again in the background. Every call's wait has one limit (the request
// timeout): a server that freezes or a network that goes silent costs a 503
// and that connection, never a request hanging on it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/pg_rows.hpp"

namespace common {

struct PoolStats {
  int size = 0;    // connections the loops keep
  int in_use = 0;  // with statements in flight
  int idle = 0;
  int waiting = 0;  // calls waiting for a connection to come up
  long long connect_failures = 0;
  long long broken_connections = 0;
  long long timeouts = 0;  // the database could not serve in time
  // Connections closed because a batch sent on them had no answer by its
  // deadline (DB_REQUEST_TIMEOUT_MS): a frozen server or a silent network.
  long long abandoned = 0;
  long long calls = 0;  // batches asked for (one statement or one transaction each)
};

// Prometheus lines for the pool: connections by state, waiters, errors.
void append_pool_metrics(const PoolStats& stats, std::string& out);

struct PreparedStatement {
  std::string name;
  std::string sql;
};

class Database {
 public:
  // `connections_per_loop`: each loop's own connections (at least 1).
  // `request_timeout` (DB_REQUEST_TIMEOUT_MS) bounds a call's whole wait: the
  // queues and the batch in flight; a connection whose batch is not answered
  // in time is closed and replaced. `connection_wait` bounds, within it, the
  // wait for one of the loop's connections to take the batch (all busy, or
  // coming up).
  Database(std::string url, std::vector<PreparedStatement> statements, int connections_per_loop,
           std::chrono::milliseconds request_timeout = std::chrono::milliseconds(3000),
           std::chrono::milliseconds connection_wait = std::chrono::seconds(2));
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // In a fiber on a loop: runs `statements` as one transaction and returns
  // one Rows per statement. Throws SqlError when PostgreSQL refused one (all
  // rolled back) and DatabaseUnavailable when the database cannot serve: down,
  // saturated, no answer within the request timeout (counted from
  // WaitingSince when one is in force), gone during the call, or a WARNING
  // during the transaction (its COMMIT unconfirmed). A write is then never
  // retried: it may or may not have happened.
  std::vector<Rows> run(std::vector<Statement> statements);
  Rows run(Statement statement);
  // On a loop: opens its connections now rather than at its first call.
  void open_on_this_loop();
  // In a fiber: true once every loop has its connections, waiting up to
  // `limit` while some are being opened; false at once if one is down.
  bool all_connected(std::chrono::milliseconds limit);

  PoolStats stats() const;
  // Batches a loop can have running at once (its connections).
  int connections_per_loop() const;

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace common
