// Internal: the Pistache endpoint and router, with every route installed.
//
// Pistache 0.0.5 sharp edges (see shared/PISTACHE-NOTES.md), each handled in
// one place:
// - strict HTTP/1.1 framing, limits, pipelining, Expect, chunked bodies:
//   edge/request_framer.cpp, edge/connection.cpp, edge/guarded_handler.cpp;
// - HEAD lengths, Connection and Content-Type on every answer:
//   edge/response_wire.cpp;
// - exception text as the 500 body, percent-encoded path parameters:
//   edge/dispatcher.cpp;
// - the router's routes[method] insert race and its plain-text 404/405:
//   install() below registers every path for every method (JSON 405 with
//   Allow) and a JSON NotFound handler.
#include "http_server.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "common/json_response.hpp"
#include "edge/dispatcher.hpp"
#include "edge/guarded_handler.hpp"
#include "worker_pool.hpp"

namespace common {
namespace {

using namespace Pistache;
using edge::Dispatcher;
using edge::Endpoint;

constexpr Http::Method kAllMethods[] = {
    Http::Method::Options, Http::Method::Get,   Http::Method::Post,
    Http::Method::Head,    Http::Method::Put,   Http::Method::Patch,
    Http::Method::Delete,  Http::Method::Trace, Http::Method::Connect,
};

Http::Method parse_method(const std::string& name) {
  for (auto method : kAllMethods) {
    if (name == Http::methodString(method)) return method;
  }
  throw std::invalid_argument("unsupported HTTP method in a route: " + name);
}

}  // namespace

HttpServer::HttpServer(const Config& config, const std::vector<Route>& routes,
                       std::vector<std::shared_ptr<RequestObserver>> observers,
                       const std::atomic<bool>* draining)
    : config_(config),
      state_(std::make_shared<ServerState>()),
      router_(std::make_shared<Rest::Router>()) {
  state_->observers = std::move(observers);
  state_->draining = draining;
  bool any_blocking = false;
  for (const auto& route : routes) any_blocking = any_blocking || route.blocking;
  // Many more workers than database connections: a request waits for the
  // database in a batch (common/batcher.hpp), in the pool's bounded acquire
  // (then 503) or behind a lock, never in an unbounded queue behind a slow
  // query; and batches can only grow as large as the number of requests
  // waiting together, which is what makes them pay (issue 12: with pool + 2
  // workers, batches stayed at about 3 rows). Waiting threads cost a stack
  // each, not CPU; what is expensive per request (password hashing) has its
  // own, smaller bound.
  if (any_blocking) {
    state_->workers = std::make_unique<WorkerPool>(std::max(32, 16 * config.db_pool_size) +
                                                   std::max(2, config.threads));
  }
  install(routes);
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::install(const std::vector<Route>& routes) {
  Dispatcher dispatcher(state_);
  // path -> method -> route, in registration order of paths
  std::vector<std::string> paths;
  std::map<std::string, std::map<Http::Method, const Route*>> table;
  for (const auto& route : routes) {
    auto method = parse_method(route.method);
    if (!table.count(route.path)) paths.push_back(route.path);
    auto& slot = table[route.path][method];
    if (slot) throw std::logic_error("route registered twice: " + route.method + " " + route.path);
    slot = &route;
  }

  for (const auto& path : paths) {
    auto& methods = table[path];
    const Route* get = methods.count(Http::Method::Get) ? methods[Http::Method::Get] : nullptr;
    std::set<std::string> allowed;
    for (const auto& [method, route] : methods) allowed.insert(Http::methodString(method));
    if (get) allowed.insert("HEAD");
    allowed.insert("OPTIONS");
    std::string allow;
    for (const auto& name : allowed) allow += (allow.empty() ? "" : ", ") + name;
    const ErrorRenderer& render_error = methods.begin()->second->render_error;

    for (auto method : kAllMethods) {
      Endpoint endpoint;
      endpoint.label = path;
      endpoint.params = edge::param_names(path);
      if (auto it = methods.find(method); it != methods.end()) {
        endpoint.handler = it->second->handler;
        endpoint.render_error = it->second->render_error;
        endpoint.blocking = it->second->blocking;
      } else if (method == Http::Method::Head && get) {
        endpoint.handler = get->handler;
        endpoint.render_error = get->render_error;
        endpoint.blocking = get->blocking;
        endpoint.head_only = true;
      } else if (method == Http::Method::Options) {
        endpoint.render_error = render_error;
        endpoint.handler = [allow](const Request&) {
          Response response;
          response.status = 204;
          response.headers.emplace_back("Allow", allow);
          return response;
        };
      } else {
        endpoint.render_error = render_error;
        endpoint.handler = [allow](const Request&) -> Response {
          throw HttpError(405, "Method not allowed.", {{"Allow", allow}});
        };
      }
      router_->addRoute(method, path, dispatcher.bind(std::move(endpoint)));
    }
  }

  Endpoint not_found;
  not_found.label = "<unmatched>";
  not_found.render_error = json_error;
  not_found.handler = [](const Request&) -> Response {
    throw HttpError(404, "Resource not found.");
  };
  router_->addNotFoundHandler(dispatcher.bind(std::move(not_found)));
}

void HttpServer::start() {
  Address address(config_.host, Port(static_cast<uint16_t>(config_.port)));
  endpoint_ = std::make_unique<Http::Endpoint>(address);
  auto options = Http::Endpoint::options()
                     .threads(config_.threads)
                     .flags(Tcp::Options::ReuseAddr | Tcp::Options::NoDelay)
                     // The framer enforces the real limits first; this only has to fit
                     // what it passes on.
                     .maxRequestSize(config_.max_body_bytes + config_.max_request_line_bytes +
                                     config_.max_header_bytes + 1024)
                     .headerTimeout(std::chrono::seconds(10))
                     .bodyTimeout(std::chrono::seconds(30))
                     .keepaliveTimeout(std::chrono::seconds(75));
  endpoint_->init(options);
  edge::FramerLimits limits;
  limits.max_request_line = config_.max_request_line_bytes;
  limits.max_header_bytes = config_.max_header_bytes;
  limits.max_header_fields = config_.max_header_fields;
  limits.max_body_bytes = config_.max_body_bytes;
  endpoint_->setHandler(Http::make_handler<edge::GuardedHandler>(router_, limits));
  endpoint_->serveThreaded();
}

int HttpServer::port() const {
  return endpoint_ ? static_cast<int>(endpoint_->getPort()) : 0;
}

bool HttpServer::wait_idle(std::chrono::milliseconds deadline) const {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (state_->in_flight.load() > 0) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

void HttpServer::stop() {
  if (stopped_ || !endpoint_) return;
  stopped_ = true;
  // Workers first: what they still run sends through the reactors, which
  // must be alive until then.
  if (state_->workers) state_->workers->stop();
  endpoint_->shutdown();
}

}  // namespace common
