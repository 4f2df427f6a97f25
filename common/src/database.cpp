// The loops' PostgreSQL connections (common/database.hpp): the calls. The
// connecting thread is in database_connector.cpp, each loop's connections
// in database_slots.cpp.
#include "common/database.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <thread>

#include "common/event_loop.hpp"
#include "common/waiting_since.hpp"
#include "database_connector.hpp"
#include "database_slots.hpp"
#include "pg/pipeline.hpp"

namespace common {
namespace {

using Clock = std::chrono::steady_clock;

// SQLSTATE classes 53 (insufficient resources), 57 (operator intervention,
// e.g. 57014 statement timeout, 57P01 shutdown) and 55P03 (lock not
// available): the database cannot serve now, a 503 rather than a 500.
bool is_unavailable(const std::string& sqlstate) {
  return sqlstate.rfind("53", 0) == 0 || sqlstate.rfind("57", 0) == 0 || sqlstate == "55P03";
}

}  // namespace

Database::Database(std::string url, std::vector<PreparedStatement> statements,
                   int connections_per_loop, std::chrono::milliseconds request_timeout,
                   std::chrono::milliseconds connection_wait)
    : shared_(std::make_shared<Shared>()) {
  shared_->url = pg::with_socket_limits(std::move(url));
  for (auto& statement : statements) {
    shared_->prepared.emplace_back(std::move(statement.name), std::move(statement.sql));
  }
  shared_->per_loop = connections_per_loop < 1 ? 1 : connections_per_loop;
  shared_->request_timeout = std::max(request_timeout, std::chrono::milliseconds(1));
  shared_->connection_wait = connection_wait;
  // The thread holds the shared state too: the destructor may leave it
  // behind in a connect that hangs (see there).
  shared_->thread = std::thread([shared = shared_] {
    shared->connect_loop();
    std::lock_guard<std::mutex> lock(shared->mutex);
    shared->finished = true;
    shared->wake.notify_all();
  });
}

Database::~Database() {
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->stopping = true;
  }
  shared_->wake.notify_all();
  // A connect to a server that accepts and never answers waits for libpq's
  // connect_timeout: not worth holding up a shutdown for.
  std::unique_lock<std::mutex> lock(shared_->mutex);
  if (shared_->wake.wait_for(lock, std::chrono::milliseconds(500),
                             [this] { return shared_->finished; })) {
    lock.unlock();
    shared_->thread.join();
  } else {
    shared_->thread.detach();
  }
}

std::vector<Rows> Database::run(std::vector<Statement> statements) {
  EventLoop* loop = EventLoop::current();
  if (!loop || !Fiber::current()) {
    throw std::logic_error("Database::run is called in a fiber on an event loop");
  }
  auto& db = loop->local<LoopDb>(shared_->owner);
  if (!db.loop) db.init(*loop, shared_);
  ++shared_->calls;
  // One deadline for the whole wait: from when the caller began to wait (in a
  // Batcher's queue, say), through this loop's queue, to the answer.
  auto now = Clock::now();
  auto deadline = WaitingSince::current().value_or(now) + shared_->request_timeout;
  if (now >= deadline) {
    ++shared_->timeouts;
    spdlog::warn("a database call waited out DB_REQUEST_TIMEOUT_MS ({} ms) before it was sent",
                 shared_->request_timeout.count());
    throw DatabaseUnavailable("Database busy.");
  }

  if (!db.any_ready() && !db.any_connecting()) {
    // Down: a new attempt unless one failed just now (then the answer is
    // known). The call waits for the attempt: refused at once while the
    // server is down, served as soon as it is back.
    for (std::size_t i = 0; i < db.slots.size(); ++i) {
      if (Clock::now() - db.slots[i].last_attempt >= kRetryPeriod) db.connect(i);
    }
    db.schedule_retry();
    if (!db.any_connecting()) {
      ++shared_->timeouts;
      throw DatabaseUnavailable("Database unavailable.");
    }
  }

  pg::Outcome outcome;
  Wait done;
  LoopDb::Pending pending{std::move(statements), &outcome, &done, deadline};
  db.queue.push_back(&pending);
  db.send_queued();
  if (!pending.sent && !done.done()) {
    // Every connection is busy or coming up: a bounded wait, like a pool's
    // (the shorter of connection_wait and what is left of the deadline); once
    // sent, the answer's own timer bounds the rest (LoopDb::send_queued).
    ++shared_->waiting;
    auto wait = std::min(shared_->connection_wait, time_left(deadline, Clock::now()));
    auto timer = loop->after(wait, [&db, &pending, &outcome, &done] {
      auto it = std::find(db.queue.begin(), db.queue.end(), &pending);
      if (it == db.queue.end()) return;
      db.queue.erase(it);
      outcome.status = pg::Outcome::Status::broken;
      outcome.message = "no connection free in time";
      done.notify();
    });
    done.wait();  // not sent in time, or sent and then answered or given up on
    --shared_->waiting;
    loop->cancel(timer);
  }
  done.wait();
  if (!pending.sent) {
    ++shared_->timeouts;
    if (outcome.message == "no database connection") {
      throw DatabaseUnavailable("Database unavailable.");
    }
    spdlog::warn("no database connection free in time ({} ms at most)",
                 std::min(shared_->connection_wait, shared_->request_timeout).count());
    throw DatabaseUnavailable("Database busy.");
  }

  switch (outcome.status) {
    case pg::Outcome::Status::ok:
      if (outcome.unconfirmed) {
        // A WARNING while the batch (and so its COMMIT) ran: e.g. a COMMIT
        // whose wait for the synchronous standby was cancelled, committed
        // here, perhaps never replicated, so perhaps lost by a failover.
        // Nothing unconfirmed is acknowledged.
        ++shared_->timeouts;
        spdlog::warn(
            "a transaction ended with a warning ({}): answered 503, its write may or may not "
            "have happened or survive a failover",
            trimmed(outcome.warning));
        throw DatabaseUnavailable("Database unavailable.");
      }
      return std::move(outcome.rows);
    case pg::Outcome::Status::sql_error:
      if (is_unavailable(outcome.sqlstate)) {
        ++shared_->timeouts;
        spdlog::warn("database could not serve the statement (SQLSTATE {})", outcome.sqlstate);
        throw DatabaseUnavailable("Database unavailable.");
      }
      throw SqlError(outcome.sqlstate, trimmed(outcome.message));
    case pg::Outcome::Status::broken:
      break;
  }
  spdlog::warn("database connection failed during a statement: {}", trimmed(outcome.message));
  throw DatabaseUnavailable("Database unavailable.");
}

void Database::open_on_this_loop() {
  EventLoop* loop = EventLoop::current();
  if (!loop) return;
  auto& db = loop->local<LoopDb>(shared_->owner);
  if (!db.loop) db.init(*loop, shared_);
}

bool Database::all_connected(std::chrono::milliseconds limit) {
  auto until = Clock::now() + limit;
  for (;;) {
    if (shared_->ready.load() >= shared_->size.load()) return true;
    if (shared_->connecting.load() == 0 || Clock::now() >= until) return false;
    sleep_for(std::chrono::milliseconds(10));
  }
}

Rows Database::run(Statement statement) {
  std::vector<Statement> one;
  one.push_back(std::move(statement));
  return std::move(run(std::move(one)).front());
}

int Database::connections_per_loop() const {
  return shared_->per_loop;
}

PoolStats Database::stats() const {
  PoolStats stats;
  stats.size = shared_->size.load();
  stats.in_use = std::min(shared_->in_use.load(), stats.size);
  stats.idle = std::max(0, shared_->ready.load() - stats.in_use);
  stats.waiting = shared_->waiting.load();
  stats.connect_failures = shared_->connect_failures.load();
  stats.broken_connections = shared_->broken.load();
  stats.timeouts = shared_->timeouts.load();
  stats.abandoned = shared_->abandoned.load();
  stats.calls = shared_->calls.load();
  return stats;
}

}  // namespace common
