// Internal: what the loops share about HTTP: the route table, the observers,
// the limits and timeouts, and the counters of connections and requests.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "common/blueprint.hpp"
#include "common/request_observer.hpp"
#include "edge/request_framer.hpp"
#include "edge/router.hpp"

namespace common::edge {

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

}  // namespace common::edge
