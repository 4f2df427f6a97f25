// Internal: the Pistache side of the App. Installs Routes on a Rest::Router
// and owns the Endpoint. Pistache types stay inside common/src.
#pragma once

#include <pistache/endpoint.h>
#include <pistache/peer.h>
#include <pistache/router.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "common/blueprint.hpp"
#include "common/config.hpp"
#include "common/request_observer.hpp"

namespace common {

class WorkerPool;

// Shared by every reactor thread: counters and the observers.
struct ServerState {
  std::vector<std::shared_ptr<RequestObserver>> observers;
  std::atomic<int> in_flight{0};
  const std::atomic<bool>* draining = nullptr;
  std::unique_ptr<WorkerPool> workers;  // for blocking routes
};

class HttpServer {
 public:
  HttpServer(const Config& config, const std::vector<Route>& routes,
             std::vector<std::shared_ptr<RequestObserver>> observers,
             const std::atomic<bool>* draining);
  ~HttpServer();

  void start();
  int port() const;
  // Waits until no request is being handled or the deadline passes; true if drained.
  bool wait_idle(std::chrono::milliseconds deadline) const;
  void stop();

 private:
  void install(const std::vector<Route>& routes);

  const Config& config_;
  std::shared_ptr<ServerState> state_;
  std::shared_ptr<Pistache::Rest::Router> router_;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
  bool stopped_ = false;
};

}  // namespace common
