// A blueprint is a named group of routes that knows nothing about the server
// it is mounted on (Flask's Blueprint, Crow's Blueprint). It lists its routes
// into a Routes collector; the App installs them on Pistache's router tree
// (Pistache::Rest::SegmentTreeNode), with the methods of each path beside it.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/http.hpp"

namespace common {

// A handler reads top to bottom: it runs in a fiber on the event loop that
// owns the connection, and where it waits (the database, a password hash)
// only that fiber suspends (common/event_loop.hpp).
using Handler = std::function<Response(const Request&)>;

// Turns an error (status + message) into a response. JSON by default; page
// routes install one that renders HTML.
using ErrorRenderer =
    std::function<Response(const Request&, int status, const std::string& message)>;

Response json_error(const Request& request, int status, const std::string& message);

struct Route {
  std::string method;  // "GET", "POST", ...
  std::string path;    // Pistache syntax: "/users/:id"
  Handler handler;
  ErrorRenderer render_error;
};

class Routes {
 public:
  explicit Routes(std::string prefix = "") : prefix_(std::move(prefix)) {}

  Routes& get(const std::string& path, Handler handler) {
    return add("GET", path, std::move(handler));
  }
  Routes& post(const std::string& path, Handler handler) {
    return add("POST", path, std::move(handler));
  }
  Routes& put(const std::string& path, Handler handler) {
    return add("PUT", path, std::move(handler));
  }
  Routes& patch(const std::string& path, Handler handler) {
    return add("PATCH", path, std::move(handler));
  }
  Routes& del(const std::string& path, Handler handler) {
    return add("DELETE", path, std::move(handler));
  }
  Routes& add(const std::string& method, const std::string& path, Handler handler);

  // Applies to the routes added after this call.
  Routes& on_error(ErrorRenderer renderer);
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::string prefix_;
  ErrorRenderer render_error_ = json_error;
  std::vector<Route> routes_;
};

class Blueprint {
 public:
  virtual ~Blueprint() = default;
  virtual void register_routes(Routes& routes) = 0;
};

}  // namespace common
