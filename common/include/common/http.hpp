// The request and response types a blueprint sees. They hide Pistache, so a
// handler reads as plain input -> output and is easy to test and fuzz.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace common {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;
  std::string path;
  std::string query;  // the target's query after '?', as sent (still percent-encoded)
  std::string_view body;
  std::string content_type;  // media type only, lower-case, e.g. "application/json"
  std::string request_id;
  std::vector<std::pair<std::string, std::string>> params;  // path parameters
  // Read for the auth routes. authorization is a credential: never log it.
  std::string authorization;  // the Authorization header as sent, "" if absent
  std::string peer_address;   // the TCP peer's IP address
  std::string real_ip;        // X-Real-IP as sent (trusted only from a proxy)
  // User-Agent as sent, "" if absent (kept with a session); a view into the
  // framed request, like body, so the requests that never read it copy nothing.
  std::string_view user_agent;
  // Conditional requests (RFC 9110 13.1): the fields as sent, every line of
  // the field joined with ", "; "" when absent.
  std::string if_match;
  std::string if_none_match;

  // A path parameter by name ("id" for "/users/:id"); "" if absent.
  std::string param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  HeaderList headers;  // extra headers (Location, Allow, Retry-After, ...)
  // A body too large to hold in memory: when set, `body` is ignored and the
  // body is sent chunked (RFC 9112 7.1), piece by piece as this fills `piece`
  // (appending to it); it returns false after the last piece. It runs on the
  // handler's thread, after the status line and headers are out, so it can no
  // longer change the status: when it throws, the connection is cut and the
  // client sees an incomplete body, never a complete-looking one.
  std::function<bool(std::string& piece)> stream;
};

// Thrown by handlers to answer with an error; mapped to a body by the route's
// error renderer (JSON by default).
class HttpError : public std::exception {
 public:
  HttpError(int status, std::string message, HeaderList headers = {})
      : status_(status), message_(std::move(message)), headers_(std::move(headers)) {}
  int status() const { return status_; }
  const std::string& message() const { return message_; }
  const HeaderList& headers() const { return headers_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  int status_;
  std::string message_;
  HeaderList headers_;
};

// A dependency (the password hash queue, the database as the dispatcher maps
// DatabaseUnavailable) cannot serve now: 503 with Retry-After, never a hang.
class ServiceUnavailable : public HttpError {
 public:
  explicit ServiceUnavailable(std::string message = "Service unavailable.")
      : HttpError(503, std::move(message), {{"Retry-After", "1"}}) {}
};

}  // namespace common
