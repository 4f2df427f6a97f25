// Internal: a matched route's handler run for one request, on the reactor or
// the worker pool, with its errors mapped to the route's error body, and the
// answer sent through the request's Exchange (in order, see connection.hpp).
// Pistache 0.0.5 edges handled here: exception text as the 500 body (every
// handler is wrapped; the detail is logged, the client gets a generic body)
// and path parameters handed over still percent-encoded.
#pragma once

#include <pistache/router.h>

#include <memory>
#include <string>
#include <vector>

#include "common/blueprint.hpp"
#include "http_server.hpp"

namespace common::edge {

// The route a request matched, as the dispatcher needs it.
struct Endpoint {
  std::string label;  // route template for logs and metrics
  std::vector<std::string> params;
  Handler handler;
  ErrorRenderer render_error;
  bool head_only = false;
  bool blocking = false;
};

// The ":name" segments of a route template.
std::vector<std::string> param_names(const std::string& path);

class Dispatcher {
 public:
  explicit Dispatcher(std::shared_ptr<ServerState> state) : state_(std::move(state)) {}
  Pistache::Rest::Route::Handler bind(Endpoint endpoint) const;

 private:
  std::shared_ptr<ServerState> state_;
};

}  // namespace common::edge
