// Internal: Pistache endpoint, router and the per-request dispatch.
//
// Pistache 0.0.5 sharp edges handled here (see shared/PISTACHE-NOTES.md):
// - request size: the parser limit is raised to the body limit plus room for
//   headers, a Content-Length over the body limit is refused as soon as the
//   headers are parsed, and every refusal closes the connection (0.0.5 would
//   otherwise parse the rest of the body as new requests);
// - exception text as the 500 body: every handler is wrapped, errors are
//   logged with the request id and answered with a generic JSON body;
// - the router's routes[method] insert race: every path is registered for
//   every method, so the map is complete before the first request;
// - plain-text 404/405: every path answers JSON 405 with Allow for the
//   methods it lacks, and a JSON NotFound handler is installed;
// - no Content-Type: every response sets one;
// - Connection: Close on requests without a Connection header: the
//   connection header is decided here (HTTP/1.1 keeps alive by default).
#include "http_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "common/json_response.hpp"
#include "common/log_context.hpp"
#include "common/request_id.hpp"
#include "worker_pool.hpp"

namespace common {
namespace {

using namespace Pistache;

constexpr const char* kDiscardInput = "users.discard";
constexpr const char* kInProgress = "users.in_progress";
constexpr std::size_t kHeaderAllowance = 64 * 1024;

constexpr Http::Method kAllMethods[] = {
    Http::Method::Options, Http::Method::Get,   Http::Method::Post,
    Http::Method::Head,    Http::Method::Put,   Http::Method::Patch,
    Http::Method::Delete,  Http::Method::Trace, Http::Method::Connect,
};

const Http::Mime::MediaType& media_type(const std::string& content_type) {
  thread_local std::unordered_map<std::string, Http::Mime::MediaType> cache;
  auto it = cache.find(content_type);
  if (it == cache.end()) {
    it = cache.emplace(content_type, Http::Mime::MediaType::fromString(content_type)).first;
  }
  return it->second;
}

std::string lower_media_type(const Http::Request& request) {
  auto header = request.headers().tryGet<Http::Header::ContentType>();
  if (!header) return {};
  std::string text = header->mime().toString();
  auto semicolon = text.find(';');
  if (semicolon != std::string::npos) text.resize(semicolon);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The headers the auth routes need (the credential and the client's address).
void read_client_headers(const Http::Request& raw, Request& request) {
  if (auto authorization = raw.headers().tryGet<Http::Header::Authorization>()) {
    request.authorization = authorization->value();
  }
  if (auto real_ip = raw.headers().tryGetRaw("X-Real-IP")) request.real_ip = real_ip->value();
  request.peer_address = raw.address().host();
}

std::string request_id_of(const Http::Request& request) {
  auto raw = request.headers().tryGetRaw("X-Request-ID");
  if (raw && is_valid_request_id(raw->value())) return raw->value();
  return new_request_id();
}

// Pistache 0.0.5 writes only typed headers (addRaw ones are silently
// dropped), so any name/value pair goes out through this one.
class NamedHeader : public Http::Header::Header {
 public:
  NamedHeader(std::string name, std::string value)
      : name_(std::move(name)), value_(std::move(value)) {}
  const char* name() const override { return name_.c_str(); }
  void write(std::ostream& stream) const override { stream << value_; }
#ifdef SAFE_HEADER_CAST
  uint64_t hash() const override {
    return std::hash<std::string>{}(name_);
  }
#endif

 private:
  std::string name_;
  std::string value_;
};

void add_header(Http::ResponseWriter& writer, std::string name, std::string value) {
  writer.headers().add(std::make_shared<NamedHeader>(std::move(name), std::move(value)));
}

bool wants_close(const Http::ResponseWriter& response) {
  auto connection = response.headers().tryGet<Http::Header::Connection>();
  return connection && connection->control() == Http::ConnectionControl::Close;
}

// Sends `response`; closes the write side afterwards when the connection is
// not to be kept, so the client sees the end of the stream.
std::size_t send(Http::ResponseWriter& writer, const Response& response,
                 const std::string& request_id, bool head_only) {
  add_header(writer, "X-Request-ID", request_id);
  for (const auto& [name, value] : response.headers) add_header(writer, name, value);
  writer.setMime(media_type(response.content_type));
  bool close = wants_close(writer);
  std::weak_ptr<Tcp::Peer> weak_peer = writer.getPeer();
  auto sent = writer.send(static_cast<Http::Code>(response.status),
                          head_only ? std::string() : response.body);
  if (close) {
    sent.then(
        [weak_peer](ssize_t) {
          if (auto peer = weak_peer.lock()) ::shutdown(peer->fd(), SHUT_WR);
        },
        Async::IgnoreException);
  }
  return head_only ? 0 : response.body.size();
}

std::vector<std::string> param_names(const std::string& path) {
  std::vector<std::string> names;
  std::size_t pos = 0;
  while ((pos = path.find('/', pos)) != std::string::npos) {
    ++pos;
    if (pos < path.size() && path[pos] == ':') {
      auto end = path.find('/', pos);
      names.push_back(path.substr(pos, end == std::string::npos ? end : end - pos));
    }
  }
  return names;
}

// The route a request matched, as the dispatcher needs it.
struct Endpoint {
  std::string label;  // route template for logs and metrics
  std::vector<std::string> params;
  Handler handler;
  ErrorRenderer render_error;
  bool head_only = false;
  bool blocking = false;
};

class Dispatcher {
 public:
  explicit Dispatcher(std::shared_ptr<ServerState> state) : state_(std::move(state)) {}

  Rest::Route::Handler bind(Endpoint endpoint) const {
    auto shared = std::make_shared<const Endpoint>(std::move(endpoint));
    return [state = state_, endpoint = std::move(shared)](const Rest::Request& raw,
                                                          Http::ResponseWriter writer) {
      dispatch(state, endpoint, raw, std::move(writer));
      return Rest::Route::Result::Ok;
    };
  }

 private:
  // A request handed to a worker thread: it owns its body, since Pistache
  // reuses the parser's buffer once the reactor moves on.
  struct Job {
    std::string body;
    Request request;
    Http::ResponseWriter writer;
    std::chrono::steady_clock::time_point started;
  };

  static void dispatch(const std::shared_ptr<ServerState>& state,
                       const std::shared_ptr<const Endpoint>& endpoint, const Rest::Request& raw,
                       Http::ResponseWriter writer) {
    auto started = std::chrono::steady_clock::now();
    state->in_flight.fetch_add(1);
    Request request = read_request(*endpoint, raw);
    if (!endpoint->blocking || !state->workers) {
      finish(*state, *endpoint, request, writer, started);
      state->in_flight.fetch_sub(1);
      return;
    }
    auto job = std::make_shared<Job>(
        Job{std::string(request.body), std::move(request), std::move(writer), started});
    job->request.body = job->body;
    state->workers->post([state, endpoint, job] {
      finish(*state, *endpoint, job->request, job->writer, job->started);
      state->in_flight.fetch_sub(1);
    });
  }

  static Request read_request(const Endpoint& endpoint, const Rest::Request& raw) {
    Request request;
    request.request_id = request_id_of(raw);
    request.method = Http::methodString(raw.method());
    request.path = raw.resource();
    request.body = raw.body();
    try {
      request.content_type = lower_media_type(raw);
      read_client_headers(raw, request);
      for (const auto& name : endpoint.params) {
        if (raw.hasParam(name)) {
          request.params.emplace_back(name.substr(1), raw.param(name).as<std::string>());
        }
      }
    } catch (const std::exception& error) {
      spdlog::warn("could not read the request's parameters: {}", error.what());
    }
    return request;
  }

  // Runs the handler, maps its errors, sends, and reports the request.
  static void finish(ServerState& state, const Endpoint& endpoint, const Request& request,
                     Http::ResponseWriter& writer, std::chrono::steady_clock::time_point started) {
    RequestIdScope log_scope(request.request_id);  // every log line below carries it
    Response response;
    try {
      response = endpoint.handler(request);
    } catch (const HttpError& error) {
      response = render(endpoint, request, error.status(), error.message());
      response.headers.insert(response.headers.end(), error.headers().begin(),
                              error.headers().end());
      if (error.status() >= 500) {
        spdlog::warn("{} {} -> {}: {}", request.method, endpoint.label, error.status(),
                     error.message());
      }
    } catch (const std::exception& error) {
      spdlog::error("{} {} failed: {}", request.method, endpoint.label, error.what());
      response = render(endpoint, request, 500, "Internal server error.");
    } catch (...) {
      spdlog::error("{} {} failed with a non-standard exception", request.method, endpoint.label);
      response = render(endpoint, request, 500, "Internal server error.");
    }
    if (state.draining && state.draining->load()) {
      // Ask keep-alive clients to reconnect elsewhere while we stop.
      writer.headers().remove<Http::Header::Connection>();
      writer.headers().add<Http::Header::Connection>(Http::ConnectionControl::Close);
    }

    std::size_t bytes = 0;
    try {
      bool head = endpoint.head_only || request.method == "HEAD";  // 404/405 to HEAD too
      bytes = send(writer, response, request.request_id, head);
    } catch (const std::exception& error) {
      spdlog::warn("could not send the response: {}", error.what());
    }
    RequestRecord record;
    record.method = request.method;
    record.route = endpoint.label;
    record.path = request.path;
    record.status = response.status;
    record.duration = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    record.bytes = bytes;
    record.request_id = request.request_id;
    for (const auto& observer : state.observers) {
      try {
        observer->on_request(record);
      } catch (const std::exception& error) {
        spdlog::warn("request observer failed: {}", error.what());
      }
    }
  }

  static Response render(const Endpoint& endpoint, const Request& request, int status,
                         const std::string& message) {
    try {
      return endpoint.render_error(request, status, message);
    } catch (const std::exception& error) {
      spdlog::error("error renderer failed: {}", error.what());
      return fail(status, message);
    }
  }

  std::shared_ptr<ServerState> state_;
};

// Http::Handler that guards the input before Pistache's router sees it.
class GuardedHandler : public Http::Handler {
 public:
  HTTP_PROTOTYPE(GuardedHandler)

  GuardedHandler(std::shared_ptr<Rest::Router> router, std::shared_ptr<ServerState> state)
      : router_(std::move(router)), state_(std::move(state)) {}

  // Router::route answers unmatched paths itself, through the NotFound
  // handler: calling that handler again here would send a second response on
  // a keep-alive connection (nginx then reads it as the next one's answer).
  void onRequest(const Http::Request& request, Http::ResponseWriter response) override {
    router_->route(request, std::move(response));
  }

 private:
  void onInput(const char* buffer, size_t len, const std::shared_ptr<Tcp::Peer>& peer) override {
    if (peer->tryGetData(kDiscardInput)) return;  // refused request: drop what follows
    auto parser = getParser(peer);
    auto& request = parser->request;
    bool& mid_request = in_progress(peer);
    bool starts_here = !mid_request;
    try {
      mid_request = true;
      if (starts_here && !request_line_looks_valid(std::string_view(buffer, len))) {
        refuse(peer, request, 400, "Malformed HTTP request.");
        return;
      }
      // Before Pistache reads the headers (its body step reserves the whole
      // Content-Length up front): refuse a length that is malformed or too big.
      if (parser->step()->id() != Http::Private::BodyStep::Id) {
        switch (check_content_length(std::string_view(buffer, len), state_->max_body_bytes)) {
          case Length::malformed:
            refuse(peer, request, 400, "Malformed HTTP request.", std::string_view(buffer, len));
            return;
          case Length::too_large:
            refuse(peer, request, 413, "Request body too large.", std::string_view(buffer, len));
            return;
          case Length::ok:
            break;
        }
      }
      if (!parser->feed(buffer, len)) {
        refuse(peer, request, 413, "Request body too large.");
        return;
      }
      auto state = parser->parse();
      if (state == Http::Private::State::Done) {
        if (request.body().size() > state_->max_body_bytes) {
          refuse(peer, request, 413, "Request body too large.");
          return;
        }
        mid_request = false;
        Http::ResponseWriter response(request.version(), transport(), this, peer);
        request.copyAddress(peer->address());
        // Pistache 0.0.5 drops whatever follows a request in the same read
        // (pipelining). Rather than leave the client waiting for answers that
        // never come, answer this one with Connection: close and drop the rest.
        bool pipelined = starts_here && has_bytes_after(buffer, len, request);
        if (pipelined) peer->putData(kDiscardInput, std::make_shared<bool>(true));
        response.headers().add<Http::Header::Connection>(pipelined ? Http::ConnectionControl::Close
                                                                   : connection_for(request));
        peer->setIdle(false);
        onRequest(request, std::move(response));
        parser->reset();
      } else if (parser->step()->id() == Http::Private::BodyStep::Id) {
        auto length = request.headers().tryGet<Http::Header::ContentLength>();
        if (length && length->value() > state_->max_body_bytes) {
          refuse(peer, request, 413, "Request body too large.");
        }
      }
    } catch (const Http::HttpError& error) {
      refuse(peer, request, error.code() == 413 ? 413 : 400,
             error.code() == 413 ? "Request body too large." : "Malformed HTTP request.");
    } catch (const std::exception& error) {
      // Handlers catch their own errors (Dispatcher), so what reaches here
      // comes from parsing what the client sent.
      spdlog::warn("could not parse a request: {}", error.what());
      refuse(peer, request, 400, "Malformed HTTP request.");
    }
  }

  // A first line with no space ("GARBAGE\r\n") would make Pistache wait for
  // more until the header timeout; answer at once instead.
  static bool request_line_looks_valid(std::string_view bytes) {
    auto end = bytes.find("\r\n");
    if (end == std::string_view::npos) return true;  // not complete yet
    return bytes.substr(0, end).find(' ') != std::string_view::npos;
  }

  enum class Length { ok, malformed, too_large };

  // The value of header `name` (lower-case, with the colon) among the
  // complete header lines in `bytes`; nullopt when absent or not complete yet.
  static std::optional<std::string_view> raw_header(std::string_view bytes, std::string_view name) {
    auto head_end = bytes.find("\r\n\r\n");
    std::string_view head =
        bytes.substr(0, head_end == std::string_view::npos ? head_end : head_end + 2);
    for (std::size_t pos = head.find('\n'); pos != std::string_view::npos;
         pos = head.find('\n', pos + 1)) {
      std::string_view line = head.substr(pos + 1);
      auto eol = line.find("\r\n");
      if (eol == std::string_view::npos) break;  // the line continues in the next read
      line = line.substr(0, eol);
      if (line.size() < name.size()) continue;
      bool match = true;
      for (std::size_t i = 0; i < name.size() && match; ++i) {
        match = std::tolower(static_cast<unsigned char>(line[i])) == name[i];
      }
      if (!match) continue;
      std::string_view value = line.substr(name.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      return value;
    }
    return std::nullopt;
  }

  static Length check_content_length(std::string_view bytes, std::size_t max_body) {
    auto value = raw_header(bytes, "content-length:");
    if (!value) return Length::ok;
    if (value->empty() || value->size() > 18) return Length::malformed;
    unsigned long long length = 0;
    for (char c : *value) {
      if (c < '0' || c > '9') return Length::malformed;
      length = length * 10 + static_cast<unsigned long long>(c - '0');
    }
    return length > max_body ? Length::too_large : Length::ok;
  }

  // Whether this peer is in the middle of a request (its start came in an
  // earlier read).
  static bool& in_progress(const std::shared_ptr<Tcp::Peer>& peer) {
    auto data = peer->tryGetData(kInProgress);
    if (!data) {
      data = std::make_shared<bool>(false);
      peer->putData(kInProgress, data);
    }
    return *std::static_pointer_cast<bool>(data);
  }

  // For a request that began at buffer[0]: are there bytes after its end?
  static bool has_bytes_after(const char* buffer, size_t len, const Http::Request& request) {
    std::string_view bytes(buffer, len);
    auto header_end = bytes.find("\r\n\r\n");
    if (header_end == std::string_view::npos) return false;
    if (request.headers().tryGet<Http::Header::TransferEncoding>()) return false;
    return header_end + 4 + request.body().size() < len;
  }

  static Http::ConnectionControl connection_for(const Http::Request& request) {
    auto connection = request.headers().tryGet<Http::Header::Connection>();
    if (connection) return connection->control();
    return request.version() == Http::Version::Http11 ? Http::ConnectionControl::KeepAlive
                                                      : Http::ConnectionControl::Close;
  }

  // Answers an error before routing and closes the connection: what follows
  // on this socket is the rest of a request we will not read.
  void refuse(const std::shared_ptr<Tcp::Peer>& peer, const Http::Request& request, int status,
              const std::string& message, std::string_view raw = {}) {
    if (!peer->tryGetData(kDiscardInput))
      peer->putData(kDiscardInput, std::make_shared<bool>(true));
    // The client's id when its headers got that far, so nginx's log and ours agree.
    std::string request_id = request_id_of(request);
    if (auto id = raw_header(raw, "x-request-id:"); id && is_valid_request_id(*id)) {
      request_id = std::string(*id);
    }
    Http::Version version = request.version();
    getParser(peer)->reset();
    RequestIdScope log_scope(request_id);
    spdlog::warn("refused a request from {}: {} {}", peer->address().host(), status, message);
    Http::ResponseWriter writer(version, transport(), this, peer);
    writer.headers().add<Http::Header::Connection>(Http::ConnectionControl::Close);
    try {
      send(writer, fail(status, message), request_id, false);
    } catch (const std::exception& error) {
      spdlog::warn("could not send the refusal: {}", error.what());
    }
  }

  std::shared_ptr<Rest::Router> router_;
  std::shared_ptr<ServerState> state_;
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
  state_->max_body_bytes = config.max_body_bytes;
  bool any_blocking = false;
  for (const auto& route : routes) any_blocking = any_blocking || route.blocking;
  // More workers than database connections, so that when every connection is
  // busy a request waits in the pool's bounded acquire (then 503), not in an
  // unbounded queue behind a slow query.
  if (any_blocking) {
    state_->workers =
        std::make_unique<WorkerPool>(config.db_pool_size + std::max(2, config.threads));
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
      endpoint.params = param_names(path);
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
                     .maxRequestSize(config_.max_body_bytes + kHeaderAllowance)
                     .headerTimeout(std::chrono::seconds(10))
                     .bodyTimeout(std::chrono::seconds(30))
                     .keepaliveTimeout(std::chrono::seconds(75));
  endpoint_->init(options);
  endpoint_->setHandler(Http::make_handler<GuardedHandler>(router_, state_));
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
