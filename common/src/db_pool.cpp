// Connection pool over libpqxx.
#include "common/db_pool.hpp"

#include <spdlog/spdlog.h>

#include <cstring>

#include "common/config.hpp"

namespace common {

// Notices of one connection: remembers a cancelled wait for the synchronous
// standby ("canceling wait for synchronous replication due to user request"
// and its variants).
class DbPool::ReplicationWatch : public pqxx::errorhandler {
 public:
  explicit ReplicationWatch(pqxx::connection_base& connection) : pqxx::errorhandler(connection) {}
  bool operator()(const char message[]) noexcept override {
    if (std::strstr(message, "wait for synchronous replication")) unreplicated = true;
    return true;
  }
  bool unreplicated = false;
};

namespace {

// Fail fast when the server is unreachable, and never let one statement hold
// a connection (and a worker) for long.
std::string with_timeouts(std::string url) {
  if (url.find("connect_timeout=") == std::string::npos) {
    url += (url.find('?') == std::string::npos ? '?' : '&');
    url += "connect_timeout=3";
  }
  return url;
}

}  // namespace

DbPool::DbPool(std::string url, int size, OnConnect on_connect,
               std::chrono::milliseconds acquire_timeout)
    : url_(with_timeouts(std::move(url))),
      on_connect_(std::move(on_connect)),
      acquire_timeout_(acquire_timeout),
      connections_(static_cast<std::size_t>(size)),
      watches_(static_cast<std::size_t>(size)) {
  for (int slot = size - 1; slot >= 0; --slot) idle_.push_back(slot);
}

DbPool::~DbPool() = default;

DbPool::Lease& DbPool::Lease::operator=(Lease&& other) noexcept {
  std::swap(pool, other.pool);
  std::swap(slot, other.slot);
  std::swap(connection, other.connection);
  std::swap(reused, other.reused);
  std::swap(broken, other.broken);
  return *this;
}

DbPool::Lease::~Lease() {
  if (pool) pool->release(slot, broken);
}

std::unique_ptr<pqxx::connection> DbPool::connect() {
  try {
    auto connection = std::make_unique<pqxx::connection>(url_);
    {
      pqxx::nontransaction setup(*connection);
      setup.exec("SET statement_timeout = 5000");
    }
    if (on_connect_) on_connect_(*connection);
    return connection;
  } catch (const std::exception& error) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++connect_failures_;
    }
    // libpq's message names host and port, never the password.
    std::string what = error.what();
    while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
    spdlog::warn("database connection to {} failed: {}", redact_url(url_), what);
    throw ServiceUnavailable("Database unavailable.");
  }
}

DbPool::Lease DbPool::acquire() {
  int slot = -1;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    ++waiting_;
    bool got = available_.wait_for(lock, acquire_timeout_, [this] { return !idle_.empty(); });
    --waiting_;
    if (!got) {
      ++timeouts_;
      throw ServiceUnavailable("Database busy.");
    }
    slot = idle_.back();
    idle_.pop_back();
  }
  Lease lease;
  lease.pool = this;
  lease.slot = slot;
  auto& connection = connections_[static_cast<std::size_t>(slot)];
  auto& watch = watches_[static_cast<std::size_t>(slot)];
  lease.reused = connection && connection->is_open();
  if (!lease.reused) {
    watch.reset();
    connection.reset();
    connection = connect();  // on failure the lease returns the empty slot
    watch = std::make_unique<ReplicationWatch>(*connection);
  }
  watch->unreplicated = false;
  lease.connection = connection.get();
  return lease;
}

void DbPool::release(int slot, bool broken) {
  if (broken) {
    watches_[static_cast<std::size_t>(slot)].reset();
    connections_[static_cast<std::size_t>(slot)].reset();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(slot);
  }
  available_.notify_one();
}

void DbPool::require_replicated(Lease& lease) {
  auto& watch = watches_[static_cast<std::size_t>(lease.slot)];
  if (!watch || !watch->unreplicated) return;
  watch->unreplicated = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++timeouts_;
  }
  spdlog::warn(
      "a commit was not confirmed by the synchronous standby (its wait was cancelled): "
      "answered 503, the write may or may not survive a failover");
  throw ServiceUnavailable("Database unavailable.");
}

void DbPool::note_broken(const char* what) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++broken_;
  spdlog::warn("database connection lost: {}", what);
}

void append_pool_metrics(const PoolStats& stats, std::string& out) {
  out += "# HELP db_pool_connections Pooled database connections by state.\n";
  out += "# TYPE db_pool_connections gauge\n";
  out += "db_pool_connections{state=\"in_use\"} " + std::to_string(stats.in_use) + "\n";
  out += "db_pool_connections{state=\"idle\"} " + std::to_string(stats.idle) + "\n";
  out += "# HELP db_pool_waiting Requests waiting for a connection.\n";
  out += "# TYPE db_pool_waiting gauge\n";
  out += "db_pool_waiting " + std::to_string(stats.waiting) + "\n";
  out += "# HELP db_errors_total Database failures by kind.\n";
  out += "# TYPE db_errors_total counter\n";
  out += "db_errors_total{kind=\"connect\"} " + std::to_string(stats.connect_failures) + "\n";
  out += "db_errors_total{kind=\"broken\"} " + std::to_string(stats.broken_connections) + "\n";
  out += "db_errors_total{kind=\"timeout\"} " + std::to_string(stats.timeouts) + "\n";
}

bool DbPool::is_unavailable(const std::string& sqlstate) {
  return sqlstate.rfind("53", 0) == 0 || sqlstate.rfind("57", 0) == 0 || sqlstate == "55P03";
}

void DbPool::note_unavailable(const std::string& sqlstate) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++timeouts_;
  spdlog::warn("database could not serve the statement (SQLSTATE {})", sqlstate);
}

PoolStats DbPool::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  PoolStats stats;
  stats.size = static_cast<int>(connections_.size());
  stats.idle = static_cast<int>(idle_.size());
  stats.in_use = stats.size - stats.idle;
  stats.waiting = waiting_;
  stats.connect_failures = connect_failures_;
  stats.broken_connections = broken_;
  stats.timeouts = timeouts_;
  return stats;
}

}  // namespace common
