// Internal: the HTTP side of the App. One listening socket per loop of the
// reactor (SO_REUSEPORT); each connection then lives on the loop that
// accepted it (edge/http_connection.hpp), and each request is answered there,
// in a fiber (edge/dispatcher.hpp). Pistache types stay inside common/src.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "common/blueprint.hpp"
#include "common/config.hpp"
#include "common/request_observer.hpp"
#include "edge/connection_set.hpp"

namespace common {

namespace reactor {
class Reactors;
class Loop;
}  // namespace reactor

class HttpServer {
 public:
  HttpServer(const Config& config, const std::vector<Route>& routes,
             std::vector<std::shared_ptr<RequestObserver>> observers,
             const std::atomic<bool>* draining);
  ~HttpServer();

  // Serves on the loops; each runs `loop_hooks` first.
  void start(const std::vector<std::function<void()>>& loop_hooks = {});
  int port() const { return port_; }
  int open_connections() const;
  // Connections accepted by each loop, and the times a loop was woken for
  // its listening socket and found nothing to accept (for tests and bench).
  struct AcceptCounts {
    std::vector<long long> accepted;
    long long idle_wakeups = 0;
  };
  AcceptCounts accept_counts() const;
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
  std::vector<int> listen_fds_;  // by loop index
  int port_ = 0;
  bool accepting_ = false;
  bool stopped_ = false;
};

}  // namespace common
