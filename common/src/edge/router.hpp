// Internal: the blueprints' routes as one table, matched per request. A
// route template's ":name" segments match any one non-empty segment. A path
// is served only in its canonical form (is_canonical_path): "/users/",
// "//users" or "/users/./1" are 404, as Flask's strict slashes do, because
// nginx and the Ingress match exact strings -- a second spelling of a path
// would walk around their limits and blocks. Every path answers every
// method: HEAD runs GET's handler without the body, OPTIONS lists what is
// allowed, any other method gets a 405 with Allow, and a path no route has
// gets a 404 -- all in the route's error format.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/blueprint.hpp"

namespace common::edge {

struct Endpoint {
  std::string label;  // route template for logs and metrics
  Handler handler;
  ErrorRenderer render_error;
  bool head_only = false;
};

struct Match {
  const Endpoint* endpoint = nullptr;
  // The ":name" segments (name without the colon), still percent-encoded.
  std::vector<std::pair<std::string, std::string_view>> params;
};

// True for "/" and for "/a/b" whose segments are none of "", "." or "..":
// no trailing slash, no repeated slash, no dot-segment (RFC 3986 5.2.4).
// Segments stay percent-encoded: "%2F" is data inside a segment, never a
// separator, and a literal segment matches only its unencoded spelling.
bool is_canonical_path(std::string_view path);

class Router {
 public:
  // Throws std::logic_error for a route registered twice or an unknown method.
  explicit Router(const std::vector<Route>& routes);
  Match match(std::string_view method, std::string_view path) const;

 private:
  struct Path {
    std::vector<std::string> segments;  // ":name" for a parameter
    std::vector<std::pair<std::string, Endpoint>> methods;
    Endpoint head;  // GET's handler, head_only (empty handler: no GET)
    Endpoint options;
    Endpoint not_allowed;
  };
  std::vector<Path> paths_;
  Endpoint not_found_;
};

}  // namespace common::edge
