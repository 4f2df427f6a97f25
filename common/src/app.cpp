// App assembly and lifecycle: mount blueprints, serve, drain on SIGTERM.
#include "common/app.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <csignal>

#include "http_server.hpp"

namespace common {

App::App(Config config) : config_(std::move(config)) {}

App::~App() {
  shutdown(std::chrono::milliseconds(0));
}

App& App::mount(std::shared_ptr<Blueprint> blueprint, const std::string& prefix) {
  Routes routes(prefix);
  blueprint->register_routes(routes);
  routes_.insert(routes_.end(), routes.routes().begin(), routes.routes().end());
  keep_alive(std::move(blueprint));
  return *this;
}

void App::add_observer(std::shared_ptr<RequestObserver> observer) {
  observers_.push_back(std::move(observer));
}

void App::start() {
  server_ = std::make_unique<HttpServer>(config_, routes_, observers_, &draining_);
  server_->start(loop_hooks_);
  spdlog::info("users-service listening on {}:{} ({} threads, APP_ENV={})", config_.host, port(),
               config_.threads, to_string(config_.app_env));
}

int App::open_connections() const {
  return server_ ? server_->open_connections() : 0;
}

int App::port() const {
  return server_ ? server_->port() : 0;
}

void App::shutdown(std::chrono::milliseconds deadline) {
  if (!server_) return;
  draining_.store(true);
  if (!server_->wait_idle(deadline)) {
    spdlog::warn("shutdown: requests still running after {} ms, stopping anyway", deadline.count());
  }
  server_->stop();
  server_.reset();
}

void App::run_until_signal() {
  // Block the signals before Pistache starts its threads, so they inherit the
  // mask and only sigwait() below sees SIGTERM/SIGINT.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  start();
  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received {}, draining in-flight requests",
               received == SIGINT ? "SIGINT" : "SIGTERM");
  shutdown(std::chrono::seconds(8));
  spdlog::info("stopped");
}

}  // namespace common
