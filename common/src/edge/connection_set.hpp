// Internal: the connections each loop owns: accepted, swept for their
// timeouts, closed.
#pragma once

#include <atomic>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/event_loop.hpp"
#include "edge/server_state.hpp"

namespace common::edge {

class HttpConnection;

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
