// The route table: Pistache's router tree finds the path, this table the
// method.
#include "edge/router.hpp"

#include <pistache/router.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <tuple>

#include "common/json_response.hpp"
#include "common/text.hpp"

namespace common::edge {
namespace {

// Calls `each` with every non-empty segment of `path`.
template <typename Each>
void for_each_segment(std::string_view path, Each&& each) {
  std::size_t pos = 0;
  while (pos < path.size()) {
    auto end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (end > pos) each(path.substr(pos, end - pos));
    pos = end + 1;
  }
}

// The tree's Route::Handler. It is never called (the tree takes Pistache's
// own request and writer types, which this edge does not have): it carries
// the index of the path in the table, read back with target<PathIndex>().
struct PathIndex {
  std::size_t index;
  template <typename... Args>
  Pistache::Rest::Route::Result operator()(Args&&... /*unused*/) const {
    return Pistache::Rest::Route::Result::Failure;
  }
};

// Pistache's tree also knows splats ("*") and optional parameters (":x?");
// this router's contract is segments that are each fixed or one ":name".
void check_template(const Route& route) {
  bool fits = !route.path.empty() && route.path.front() == '/';
  for_each_segment(route.path, [&](std::string_view segment) {
    fits = fits && segment != ":" && segment.find_first_of("*?") == std::string_view::npos;
  });
  if (!fits) throw std::invalid_argument("unsupported route template: " + route.path);
}

// "users/:id" -> "/users/:": two templates of one shape are one path, which
// must then be spelled once ("/users/:id" and "/users/:uid" are refused).
std::string shape_of(std::string_view resource) {
  std::string shape;
  for_each_segment(resource, [&](std::string_view segment) {
    shape += '/';
    shape += segment.front() == ':' ? std::string_view(":") : segment;
  });
  return shape;
}

}  // namespace

bool is_canonical_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  if (path.size() == 1) return true;
  // One pass over the segments after each '/': the check costs what
  // splitting the path costs, never a regex per request.
  std::size_t pos = 1;
  for (;;) {
    auto end = path.find('/', pos);
    auto segment = path.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (segment.empty() || segment == "." || segment == "..") return false;
    if (end == std::string_view::npos) return true;
    pos = end + 1;
  }
}

Router::Router(const std::vector<Route>& routes)
    : tree_(std::make_unique<Pistache::Rest::SegmentTreeNode>()) {
  for (const auto& route : routes) {
    if (!is_http_method(route.method)) {
      throw std::invalid_argument("unsupported HTTP method in a route: " + route.method);
    }
    check_template(route);
    // std::regex_replace inside: here at start-up only, never per request.
    std::string resource = Pistache::Rest::SegmentTreeNode::sanitizeResource(route.path);
    auto path = std::find_if(paths_.begin(), paths_.end(),
                             [&](const Path& each) { return each.resource == resource; });
    if (path == paths_.end()) {
      for (const auto& other : paths_) {
        if (shape_of(other.resource) == shape_of(resource)) {
          throw std::logic_error("one path with two sets of parameter names: /" + other.resource +
                                 " and " + route.path);
        }
      }
      std::shared_ptr<char> stored(new char[resource.size()], std::default_delete<char[]>());
      std::copy(resource.begin(), resource.end(), stored.get());
      tree_->addRoute(std::string_view(stored.get(), resource.size()), PathIndex{paths_.size()},
                      stored);
      resources_.push_back(std::move(stored));
      paths_.push_back(Path{resource, {}, {}, {}, {}});
      path = std::prev(paths_.end());
    }
    for (const auto& [method, endpoint] : path->methods) {
      if (method == route.method) {
        throw std::logic_error("route registered twice: " + route.method + " " + route.path);
      }
    }
    path->methods.emplace_back(route.method,
                               Endpoint{route.path, route.handler, route.render_error, false});
  }

  for (auto& path : paths_) {
    std::set<std::string> allowed{"OPTIONS"};
    for (const auto& [method, endpoint] : path.methods) {
      allowed.insert(method);
      if (method == "GET") {
        path.head = endpoint;
        path.head.head_only = true;
        allowed.insert("HEAD");
      }
    }
    std::string allow;
    for (const auto& name : allowed) allow += (allow.empty() ? "" : ", ") + name;
    const Endpoint& first = path.methods.front().second;
    path.options = Endpoint{first.label,
                            [allow](const Request&) {
                              Response response;
                              response.status = 204;
                              response.headers.emplace_back("Allow", allow);
                              return response;
                            },
                            first.render_error, false};
    path.not_allowed = Endpoint{first.label,
                                [allow](const Request&) -> Response {
                                  throw HttpError(405, "Method not allowed.", {{"Allow", allow}});
                                },
                                first.render_error, false};
  }
  not_found_ =
      Endpoint{"<unmatched>",
               [](const Request&) -> Response { throw HttpError(404, "Resource not found."); },
               json_error, false};
}

Router::~Router() = default;

Match Router::match(std::string_view method, std::string_view path) const {
  Match match;
  if (!is_canonical_path(path)) {
    match.endpoint = &not_found_;
    return match;
  }
  // The tree's paths have no leading '/': "/" is the root's own route.
  auto found = tree_->findRoute(path.substr(1));
  const auto& route = std::get<0>(found);
  const auto* index = route ? route->handler_.target<PathIndex>() : nullptr;
  if (index == nullptr) {
    match.endpoint = &not_found_;
    return match;
  }
  for (const auto& param : std::get<1>(found)) {
    match.params.emplace_back(param.name().substr(1), param.as<std::string>());  // no ':'
  }
  const Path& candidate = paths_[index->index];
  for (const auto& [name, endpoint] : candidate.methods) {
    if (name == method) {
      match.endpoint = &endpoint;
      return match;
    }
  }
  if (method == "HEAD" && candidate.head.handler) {
    match.endpoint = &candidate.head;
  } else if (method == "OPTIONS") {
    match.endpoint = &candidate.options;
  } else {
    match.endpoint = &candidate.not_allowed;
  }
  return match;
}

}  // namespace common::edge
