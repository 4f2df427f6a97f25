// Internal: the HTTP side of the App. One listening socket, accepted on
// every loop of the reactor; each connection then lives on the loop that
// accepted it (edge/http_connection.hpp), and each request is answered there,
// in a fiber (edge/dispatcher.hpp). Pistache types stay inside common/src.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/blueprint.hpp"
#include "common/config.hpp"
#include "common/event_loop.hpp"
#include "common/request_observer.hpp"
#include "edge/request_framer.hpp"
#include "edge/router.hpp"

namespace common {

namespace reactor {
class Reactors;
class Loop;
}  // namespace reactor

namespace edge {

class HttpConnection;

// Shared by every loop: read-only after start, but for the counters.
struct ServerState {
  explicit ServerState(const std::vector<Route>& routes) : router(routes) {}
  Router router;
  std::vector<std::shared_ptr<RequestObserver>> observers;
  std::atomic<int> in_flight{0};
  const std::atomic<bool>* draining = nullptr;
  FramerLimits limits;
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds body_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(75)};
  std::chrono::milliseconds stall_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds linger_timeout{std::chrono::seconds(2)};
};

// The connections of one loop.
class ConnectionSet {
 public:
  ConnectionSet(EventLoop& loop, ServerState& state) : loop_(loop), state_(state) {}
  void accept_from(int listen_fd);
  void remove(int fd) { connections_.erase(fd); }
  void sweep();
  void close_all();
  void close_idle();

 private:
  EventLoop& loop_;
  ServerState& state_;
  std::unordered_map<int, std::shared_ptr<HttpConnection>> connections_;
};

}  // namespace edge

class HttpServer {
 public:
  HttpServer(const Config& config, const std::vector<Route>& routes,
             std::vector<std::shared_ptr<RequestObserver>> observers,
             const std::atomic<bool>* draining);
  ~HttpServer();

  // Serves on the loops; each runs `loop_hooks` first.
  void start(const std::vector<std::function<void()>>& loop_hooks = {});
  int port() const { return port_; }
  // Stops accepting; keep-alive connections that are idle are closed.
  void stop_accepting();
  // Waits until no request is being handled or the deadline passes; true if drained.
  bool wait_idle(std::chrono::milliseconds deadline) const;
  void stop();

 private:
  const Config& config_;
  edge::ServerState state_;
  std::unique_ptr<reactor::Reactors> reactors_;
  std::vector<std::unique_ptr<edge::ConnectionSet>> sets_;
  int listen_fd_ = -1;
  int port_ = 0;
  bool accepting_ = false;
  bool stopped_ = false;
};

}  // namespace common
