// The App: blueprints are mounted on it, and start() serves their routes,
// matched on Pistache's router tree, from event loops on Pistache's reactor
// (common/src/http_server.hpp). Owns what the blueprints need to outlive
// (pool, blueprints), runs until SIGTERM/SIGINT and then drains in-flight
// requests before stopping.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "common/blueprint.hpp"
#include "common/config.hpp"
#include "common/request_observer.hpp"

namespace common {

class HttpServer;

class App {
 public:
  explicit App(Config config);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  const Config& config() const { return config_; }

  // Registers the blueprint's routes; the App keeps it alive.
  App& mount(std::shared_ptr<Blueprint> blueprint, const std::string& prefix = "");
  void add_observer(std::shared_ptr<RequestObserver> observer);
  // Runs `hook` on every event loop once it starts (e.g. to open a loop's
  // database connections before the first request needs them).
  void on_each_loop(std::function<void()> hook) { loop_hooks_.push_back(std::move(hook)); }
  // Keeps a dependency (the pool, ...) alive as long as the App.
  void keep_alive(std::shared_ptr<void> resource) { resources_.push_back(std::move(resource)); }

  // Binds and serves on background threads; PORT=0 picks a free port.
  void start();
  int port() const;
  // Client connections open now (0 before start()).
  int open_connections() const;
  // True once shutdown began: readiness answers 503 from then on.
  bool draining() const { return draining_.load(); }
  // Stops accepting work, waits for in-flight requests (up to `deadline`),
  // then stops the reactors. Idempotent.
  void shutdown(std::chrono::milliseconds deadline = std::chrono::seconds(8));
  // start(), then block until SIGTERM or SIGINT, then shutdown().
  void run_until_signal();

  const std::vector<Route>& routes() const { return routes_; }

 private:
  Config config_;
  std::vector<std::shared_ptr<void>> resources_;
  std::vector<Route> routes_;
  std::vector<std::shared_ptr<RequestObserver>> observers_;
  std::vector<std::function<void()>> loop_hooks_;
  std::atomic<bool> draining_{false};
  std::unique_ptr<HttpServer> server_;
};

}  // namespace common
