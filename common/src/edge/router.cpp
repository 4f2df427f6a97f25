// The route table.
#include "edge/router.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "common/json_response.hpp"

namespace common::edge {
namespace {

constexpr std::string_view kMethods[] = {"GET",   "HEAD",    "POST",  "PUT",    "DELETE",
                                         "PATCH", "OPTIONS", "TRACE", "CONNECT"};

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

Router::Router(const std::vector<Route>& routes) {
  for (const auto& route : routes) {
    if (std::find(std::begin(kMethods), std::end(kMethods), route.method) == std::end(kMethods)) {
      throw std::invalid_argument("unsupported HTTP method in a route: " + route.method);
    }
    std::vector<std::string> segments;
    for_each_segment(route.path, [&](std::string_view segment) { segments.emplace_back(segment); });
    auto path = std::find_if(paths_.begin(), paths_.end(),
                             [&](const Path& each) { return each.segments == segments; });
    if (path == paths_.end()) {
      paths_.push_back(Path{segments, {}, {}, {}, {}});
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

Match Router::match(std::string_view method, std::string_view path) const {
  Match match;
  if (!is_canonical_path(path)) {
    match.endpoint = &not_found_;
    return match;
  }
  std::vector<std::string_view> segments;
  for_each_segment(path, [&](std::string_view segment) { segments.push_back(segment); });
  for (const auto& candidate : paths_) {
    if (candidate.segments.size() != segments.size()) continue;
    bool fits = true;
    for (std::size_t i = 0; i < segments.size() && fits; ++i) {
      const auto& expected = candidate.segments[i];
      fits = expected[0] == ':' || expected == segments[i];
    }
    if (!fits) continue;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      const auto& expected = candidate.segments[i];
      if (expected[0] == ':') match.params.emplace_back(expected.substr(1), segments[i]);
    }
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
  match.endpoint = &not_found_;
  return match;
}

}  // namespace common::edge
