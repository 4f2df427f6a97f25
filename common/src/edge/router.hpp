// Internal: the blueprints' routes, matched per request on Pistache's router
// tree (Pistache::Rest::SegmentTreeNode): a route template's ":name"
// segments match any one non-empty segment, and a fixed segment wins over a
// parameter ("/users/export" before "/users/:id"). A path is served only in
// its canonical form (is_canonical_path), checked before the tree is asked:
// "/users/", "//users" or "/users/./1" are 404, as Flask's strict slashes do,
// because nginx and the Ingress match exact strings -- a second spelling of
// a path would walk around their limits and blocks (the tree alone would
// find "users/" as "users"). The tree finds a path; the methods around it
// are this router's table, so every path answers every method: HEAD runs
// GET's handler without the body, OPTIONS lists what is allowed, any other
// method gets a 405 with Allow, and a path no route has gets a 404 -- all in
// the route's error format.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/blueprint.hpp"

namespace Pistache::Rest {
class SegmentTreeNode;
}  // namespace Pistache::Rest

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
  std::vector<std::pair<std::string, std::string>> params;
};

// True for "/" and for "/a/b" whose segments are none of "", "." or "..":
// no trailing slash, no repeated slash, no dot-segment (RFC 3986 5.2.4).
// Segments stay percent-encoded: "%2F" is data inside a segment, never a
// separator, and a literal segment matches only its unencoded spelling.
bool is_canonical_path(std::string_view path);

class Router {
 public:
  // Throws std::logic_error for a route registered twice, an unknown method,
  // a template that is not "/" followed by fixed and ":name" segments, or
  // one path spelled with two sets of parameter names.
  explicit Router(const std::vector<Route>& routes);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // `path` without its query; never a regex, one walk down the tree.
  Match match(std::string_view method, std::string_view path) const;

 private:
  struct Path {
    std::string resource;  // the sanitized template: "users/:id"
    std::vector<std::pair<std::string, Endpoint>> methods;
    Endpoint head;  // GET's handler, head_only (empty handler: no GET)
    Endpoint options;
    Endpoint not_allowed;
  };
  std::vector<Path> paths_;
  // The tree keeps string_views into these: they live as long as it does.
  std::vector<std::shared_ptr<char>> resources_;
  // Each route's handler is a functor holding its index in paths_.
  std::unique_ptr<Pistache::Rest::SegmentTreeNode> tree_;
  Endpoint not_found_;
};

}  // namespace common::edge
