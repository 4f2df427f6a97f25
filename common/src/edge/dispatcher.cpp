// Runs a route's handler for one request and answers it.
#include "edge/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>
#include <optional>

#include "common/json_response.hpp"
#include "common/log_context.hpp"
#include "common/request_id.hpp"
#include "edge/connection.hpp"
#include "edge/percent_decode.hpp"
#include "worker_pool.hpp"

namespace common::edge {
namespace {

using namespace Pistache;

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

// A request handed to a worker thread: it owns its body, since Pistache
// reuses the parser's buffer once the reactor moves on.
struct Job {
  std::string body;
  Request request;
  Exchange exchange;
  std::chrono::steady_clock::time_point started;
  bool bad_target = false;
};

// Reads what the handler needs; false when a path parameter does not decode
// (a malformed escape, or a control character such as NUL once decoded).
bool read_request(const Endpoint& endpoint, const Rest::Request& raw, Request& request) {
  request.request_id = request_id_of(raw);
  request.method = Http::methodString(raw.method());
  request.path = raw.resource();
  request.body = raw.body();
  bool decoded = true;
  try {
    request.content_type = lower_media_type(raw);
    read_client_headers(raw, request);
    for (const auto& name : endpoint.params) {
      if (!raw.hasParam(name)) continue;
      auto value = percent_decode(raw.param(name).as<std::string>());
      if (!value) {
        decoded = false;
        continue;
      }
      request.params.emplace_back(name.substr(1), std::move(*value));
    }
  } catch (const std::exception& error) {
    spdlog::warn("could not read the request's parameters: {}", error.what());
  }
  return decoded;
}

Response render(const Endpoint& endpoint, const Request& request, int status,
                const std::string& message) {
  try {
    return endpoint.render_error(request, status, message);
  } catch (const std::exception& error) {
    spdlog::error("error renderer failed: {}", error.what());
    return fail(status, message);
  }
}

Response run_handler(const Endpoint& endpoint, const Request& request) {
  try {
    return endpoint.handler(request);
  } catch (const HttpError& error) {
    Response response = render(endpoint, request, error.status(), error.message());
    response.headers.insert(response.headers.end(), error.headers().begin(), error.headers().end());
    if (error.status() >= 500) {
      spdlog::warn("{} {} -> {}: {}", request.method, endpoint.label, error.status(),
                   error.message());
    }
    return response;
  } catch (const std::exception& error) {
    spdlog::error("{} {} failed: {}", request.method, endpoint.label, error.what());
  } catch (...) {
    spdlog::error("{} {} failed with a non-standard exception", request.method, endpoint.label);
  }
  return render(endpoint, request, 500, "Internal server error.");
}

void report(const ServerState& state, const Endpoint& endpoint, const Job& job, int status,
            std::size_t bytes) {
  const Request& request = job.request;
  RequestRecord record;
  record.method = request.method;
  record.route = endpoint.label;
  record.path = request.path;
  record.status = status;
  record.duration = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - job.started);
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

// Runs the handler, reports the request and sends the answer. A whole answer
// is reported before it is written: once a client has read it, the access
// log and /metrics already count it (answers are written straight to the
// socket, so the client can ask /metrics before this thread runs again). A
// streamed answer is reported when its last chunk is out, so its duration is
// the whole transfer.
void finish(ServerState& state, const Endpoint& endpoint, Job& job) {
  const Request& request = job.request;
  RequestIdScope log_scope(request.request_id);  // every log line below carries it
  Response response = job.bad_target ? render(endpoint, request, 400, "Malformed request target.")
                                     : run_handler(endpoint, request);
  // Ask keep-alive clients to reconnect elsewhere while we stop.
  bool draining = state.draining && state.draining->load();
  std::size_t bytes = job.exchange.head || endpoint.head_only ? 0 : response.body.size();
  int status = response.status;
  bool streamed = static_cast<bool>(response.stream);
  if (!streamed) report(state, endpoint, job, status, bytes);
  try {
    job.exchange.respond(response, request.request_id, draining);
  } catch (const std::exception& error) {
    spdlog::warn("could not send the response: {}", error.what());
  }
  if (streamed) report(state, endpoint, job, status, bytes);
}

void dispatch(const std::shared_ptr<ServerState>& state,
              const std::shared_ptr<const Endpoint>& endpoint, const Rest::Request& raw) {
  auto exchange = RoutingScope::take();
  if (!exchange) {
    spdlog::error("a request was routed outside a connection; dropped");
    return;
  }
  auto job = std::make_shared<Job>();
  job->started = std::chrono::steady_clock::now();
  job->exchange = std::move(*exchange);
  job->bad_target = !read_request(*endpoint, raw, job->request);
  job->request.query = job->exchange.query;
  state->in_flight.fetch_add(1);
  if (!endpoint->blocking || !state->workers) {
    finish(*state, *endpoint, *job);
    state->in_flight.fetch_sub(1);
    return;
  }
  job->body = std::string(job->request.body);
  job->request.body = job->body;
  state->workers->post([state, endpoint, job] {
    finish(*state, *endpoint, *job);
    state->in_flight.fetch_sub(1);
  });
}

}  // namespace

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

Rest::Route::Handler Dispatcher::bind(Endpoint endpoint) const {
  auto shared = std::make_shared<const Endpoint>(std::move(endpoint));
  // The ResponseWriter is not used: answers go out through the Exchange.
  return [state = state_, endpoint = std::move(shared)](const Rest::Request& raw,
                                                        Http::ResponseWriter) {
    dispatch(state, endpoint, raw);
    return Rest::Route::Result::Ok;
  };
}

}  // namespace common::edge
