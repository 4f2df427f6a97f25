// Internal: what the loops share about HTTP (the route table, the limits,
// the timeouts, the in-flight count) and the connections each loop owns.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/blueprint.hpp"
#include "common/event_loop.hpp"
#include "common/request_observer.hpp"
#include "edge/request_framer.hpp"
#include "edge/router.hpp"

namespace common::edge {

class HttpConnection;

// Shared by every loop: read-only after start, but for the counters.
struct ServerState {
  explicit ServerState(const std::vector<Route>& routes) : router(routes) {}
  Router router;
  std::vector<std::shared_ptr<RequestObserver>> observers;
  std::atomic<int> in_flight{0};
  std::atomic<int> open_connections{0};
  int max_connections = 1024;
  const std::atomic<bool>* draining = nullptr;
  FramerLimits limits;
  // Added to every answer that lacks them (SECURITY_HEADERS); empty when off.
  HeaderList default_headers;
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds body_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(65)};
  std::chrono::milliseconds stall_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds linger_timeout{std::chrono::seconds(2)};
};

// The connections of one loop: accepted here, swept for their timeouts
// every 250 ms, closed here.
class ConnectionSet {
 public:
  ConnectionSet(EventLoop& loop, ServerState& state) : loop_(loop), state_(state) {}
  void accept_from(int listen_fd);
  void remove(int fd) {
    if (connections_.erase(fd)) state_.open_connections.fetch_sub(1);
  }
  // Checks every connection's deadlines, then again in 250 ms.
  void sweep();
  void close_all();
  // While draining: closes the connections with nothing to answer.
  void close_idle();
  // Any thread: connections taken from the listening socket (refused ones
  // too), and wakeups that found none to take.
  long long accepted() const { return accepted_.load(std::memory_order_relaxed); }
  long long idle_wakeups() const { return idle_wakeups_.load(std::memory_order_relaxed); }

 private:
  EventLoop& loop_;
  ServerState& state_;
  std::atomic<long long> accepted_{0};
  std::atomic<long long> idle_wakeups_{0};
  std::unordered_map<int, std::shared_ptr<HttpConnection>> connections_;
};

// A descriptor held in reserve for running out of them (EMFILE); opened
// once, by the first server.
void reserve_descriptor();

// Raises the soft limit of open descriptors to the hard one (as nginx's
// worker_rlimit_nofile would) and returns the soft limit now in force.
long raise_descriptor_limit();

}  // namespace common::edge
