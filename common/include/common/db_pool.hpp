// A fixed-size pool of libpqxx connections. Connections are opened lazily,
// set up once (prepared statements) through the on_connect hook, and
// replaced after a broken connection, so the service recovers by itself when
// the database comes back. Waiting for a free connection is bounded.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <type_traits>
#include <vector>

#include "common/http.hpp"

namespace common {

struct PoolStats {
  int size = 0;
  int in_use = 0;
  int idle = 0;
  int waiting = 0;
  long long connect_failures = 0;
  long long broken_connections = 0;
  long long timeouts = 0;
};

// Prometheus lines for the pool: connections by state, waiters, errors.
void append_pool_metrics(const PoolStats& stats, std::string& out);

class DbPool {
 public:
  using OnConnect = std::function<void(pqxx::connection&)>;

  DbPool(std::string url, int size, OnConnect on_connect,
         std::chrono::milliseconds acquire_timeout = std::chrono::seconds(2));
  DbPool(const DbPool&) = delete;
  DbPool& operator=(const DbPool&) = delete;
  ~DbPool();

  // Runs `work` on a pooled connection. Throws ServiceUnavailable when no
  // connection can be had in time or the database is unreachable. A
  // connection that broke is dropped; `work` is retried once on a fresh one
  // when the failure was a stale pooled connection (the database restarted)
  // and never when it came during COMMIT (the outcome is unknown).
  template <typename Work>
  auto run(Work&& work) -> decltype(work(std::declval<pqxx::connection&>())) {
    for (int attempt = 0;; ++attempt) {
      Lease lease = acquire();
      try {
        if constexpr (std::is_void_v<decltype(work(*lease.connection))>) {
          work(*lease.connection);
          require_replicated(lease);
          return;
        } else {
          auto result = work(*lease.connection);
          require_replicated(lease);
          return result;
        }
      } catch (const pqxx::broken_connection& error) {
        bool stale = lease.reused;
        lease.broken = true;
        note_broken(error.what());
        if (!stale || attempt > 0) throw ServiceUnavailable("Database unavailable.");
      } catch (const pqxx::in_doubt_error& error) {
        // The connection went away during COMMIT (e.g. its primary died in a
        // failover): the write may or may not have happened, so it is never
        // retried; the client gets a 503 and can look before writing again.
        lease.broken = true;
        note_broken(error.what());
        throw ServiceUnavailable("Database unavailable.");
      } catch (const pqxx::sql_error& error) {
        // Statement timeout, lock timeout, shutdown, too many connections:
        // the database cannot serve now, which is a 503, not a 500.
        if (!is_unavailable(error.sqlstate())) throw;
        lease.broken = !lease.connection->is_open();
        note_unavailable(error.sqlstate());
        throw ServiceUnavailable("Database unavailable.");
      }
    }
  }

  PoolStats stats() const;

 private:
  struct Lease {
    DbPool* pool = nullptr;
    int slot = -1;
    pqxx::connection* connection = nullptr;
    bool reused = false;
    bool broken = false;
    Lease() = default;
    Lease(Lease&& other) noexcept { *this = std::move(other); }
    Lease& operator=(Lease&& other) noexcept;
    ~Lease();
  };

  class ReplicationWatch;

  Lease acquire();
  void release(int slot, bool broken);
  // A COMMIT whose wait for the synchronous standby was cancelled (by the
  // statement timeout, say) is reported by PostgreSQL as a success with a
  // warning: committed here, perhaps never replicated, so perhaps lost by a
  // failover. Throws ServiceUnavailable then, so that nothing is acknowledged
  // that a failover could lose.
  void require_replicated(Lease& lease);
  void note_broken(const char* what);
  void note_unavailable(const std::string& sqlstate);
  // SQLSTATE classes 53 (insufficient resources), 57 (operator intervention,
  // e.g. 57014 statement timeout) and 55P03 (lock not available).
  static bool is_unavailable(const std::string& sqlstate);
  std::unique_ptr<pqxx::connection> connect();

  std::string url_;
  OnConnect on_connect_;
  std::chrono::milliseconds acquire_timeout_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<pqxx::connection>> connections_;
  // One per connection, declared after them so that it goes first.
  std::vector<std::unique_ptr<ReplicationWatch>> watches_;
  std::vector<int> idle_;  // slots free to take
  int waiting_ = 0;
  long long connect_failures_ = 0;
  long long broken_ = 0;
  long long timeouts_ = 0;
};

}  // namespace common
