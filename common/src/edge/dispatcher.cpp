// Runs a route's handler for one request and answers it.
#include "edge/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/json_response.hpp"
#include "common/log_context.hpp"
#include "common/pg_rows.hpp"
#include "common/request_id.hpp"
#include "common/text.hpp"
#include "edge/percent_decode.hpp"
#include "edge/response_wire.hpp"

namespace common::edge {
namespace {

using Clock = std::chrono::steady_clock;

// Answers queued beyond this wait for the client to read (a pipelining
// client that never reads costs bounded memory).
constexpr std::size_t kMaxUnsent = std::size_t{256} * 1024;
// A streamed body's next chunk is made once no more than this is unsent.
constexpr std::size_t kStreamLowWater = std::size_t{64} * 1024;

std::string media_type(const std::string* header) {
  if (!header) return {};
  return to_lower(trim_end(std::string_view(*header).substr(0, header->find(';'))));
}

// Every line of a list-valued field, joined as one (RFC 9110 5.3).
std::string joined_field(const FramedRequest& framed, std::string_view name) {
  std::string joined;
  for (const auto& [field, value] : framed.headers) {
    if (!iequals(field, name)) continue;
    if (!joined.empty()) joined += ", ";
    joined += value;
  }
  return joined;
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

Response answer_error(const Endpoint& endpoint, const Request& request, const HttpError& error) {
  Response response = render(endpoint, request, error.status(), error.message());
  response.headers.insert(response.headers.end(), error.headers().begin(), error.headers().end());
  if (error.status() >= 500) {
    spdlog::warn("{} {} -> {}: {}", request.method, endpoint.label, error.status(),
                 error.message());
  }
  return response;
}

// Every exception becomes an answer: an HttpError its own, the database's
// "cannot serve now" a 503 with Retry-After (the one place it becomes HTTP),
// anything else a generic 500 (the detail, which may hold SQL, goes to the
// log only).
Response run_handler(const Endpoint& endpoint, const Request& request) {
  try {
    return endpoint.handler(request);
  } catch (const HttpError& error) {
    return answer_error(endpoint, request, error);
  } catch (const DatabaseUnavailable& error) {
    return answer_error(endpoint, request, ServiceUnavailable(error.what()));
  } catch (const std::exception& error) {
    spdlog::error("{} {} failed: {}", request.method, endpoint.label, error.what());
  } catch (...) {
    spdlog::error("{} {} failed with a non-standard exception", request.method, endpoint.label);
  }
  return render(endpoint, request, 500, "Internal server error.");
}

void report(const ServerState& state, const Endpoint& endpoint, const Request& request,
            Clock::time_point started, int status, std::size_t bytes) {
  RequestRecord record{
      request.method,
      endpoint.label,
      request.path,
      status,
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started),
      bytes,
      request.request_id};
  for (const auto& observer : state.observers) {
    try {
      observer->on_request(record);
    } catch (const std::exception& error) {
      spdlog::warn("request observer failed: {}", error.what());
    }
  }
}

bool has_body(int status) {
  return status >= 200 && status != 204 && status != 304;
}

// Writes the head, then every piece the response makes, as chunks; false
// when the connection was cut on the way (the client stalled or left, or the
// producer threw): the client then sees an incomplete body, never a
// complete-looking one.
bool stream(ResponseSink& sink, const Response& response, const std::string& request_id,
            const WireOptions& wire) {
  if (!sink.write(response_wire(response, request_id, wire))) return false;
  std::string out;
  std::string piece;
  try {
    for (bool more = true; more;) {
      if (!sink.wait_for_room(kStreamLowWater)) {
        spdlog::warn("streamed response cut: the client is gone or read nothing for too long");
        return false;
      }
      piece.clear();
      more = response.stream(piece);
      out.clear();
      append_chunk(out, piece, wire.http10);
      if (!more) append_last_chunk(out, wire.http10);
      if (!sink.write(out)) return false;
    }
    return true;
  } catch (const std::exception& error) {
    spdlog::error("streamed response cut: {}", error.what());
  } catch (...) {
    spdlog::error("streamed response cut by a non-standard exception");
  }
  sink.cut();
  return false;
}

struct InFlight {
  explicit InFlight(ServerState& state) : state(state) { state.in_flight.fetch_add(1); }
  ~InFlight() { state.in_flight.fetch_sub(1); }
  ServerState& state;
};

}  // namespace

bool dispatch(ResponseSink& sink, ServerState& state, FramedRequest& framed,
              const std::string& peer_address) {
  auto started = Clock::now();
  InFlight counted(state);
  Request request;
  request.method = framed.method;
  auto mark = framed.target.find('?');
  request.path = framed.target.substr(0, mark);
  if (mark != std::string::npos) request.query = framed.target.substr(mark + 1);
  request.body = framed.body;
  request.content_type = media_type(framed.header("Content-Type"));
  if (const auto* authorization = framed.header("Authorization")) {
    request.authorization = *authorization;
  }
  if (const auto* real_ip = framed.header("X-Real-IP")) request.real_ip = *real_ip;
  if (const auto* user_agent = framed.header("User-Agent")) request.user_agent = *user_agent;
  request.if_match = joined_field(framed, "If-Match");
  request.if_none_match = joined_field(framed, "If-None-Match");
  request.peer_address = peer_address;
  request.request_id =
      is_valid_request_id(framed.client_request_id) ? framed.client_request_id : new_request_id();

  Match match = state.router.match(request.method, request.path);
  const Endpoint& endpoint = *match.endpoint;
  bool decoded = true;
  for (const auto& [name, raw] : match.params) {
    auto value = percent_decode(raw);
    if (!value) {
      decoded = false;
      break;
    }
    request.params.emplace_back(name, std::move(*value));
  }

  RequestIdScope log_scope(request.request_id);  // every log line below carries it
  Response response = decoded ? run_handler(endpoint, request)
                              : render(endpoint, request, 400, "Malformed request target.");
  WireOptions wire;
  wire.head = framed.method == "HEAD";
  // Ask keep-alive clients to reconnect elsewhere while we stop.
  bool draining = state.draining && state.draining->load();
  wire.close = framed.close || draining;
  wire.http10 = framed.http10;
  wire.defaults = &state.default_headers;
  std::size_t bytes = wire.head || endpoint.head_only ? 0 : response.body.size();
  if (response.stream && !wire.head && has_body(response.status)) {
    wire.close = wire.close || framed.http10;  // an HTTP/1.0 body ends with the connection
    bool complete = stream(sink, response, request.request_id, wire);
    report(state, endpoint, request, started, response.status, bytes);
    return complete && !wire.close;
  }
  // Reported before it is written: once a client has read its answer, the
  // access log and /metrics already count it.
  report(state, endpoint, request, started, response.status, bytes);
  if (!sink.write(response_wire(response, request.request_id, wire))) return false;
  return sink.wait_for_room(kMaxUnsent) && !wire.close;
}

}  // namespace common::edge
