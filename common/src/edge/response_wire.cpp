// A response as bytes on the wire.
#include "edge/response_wire.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>

#include "common/text.hpp"

namespace common::edge {
namespace {

const char* reason(int status) {
  static const std::map<int, const char*> kReasons = {{100, "Continue"},
                                                      {200, "OK"},
                                                      {201, "Created"},
                                                      {204, "No Content"},
                                                      {301, "Moved Permanently"},
                                                      {302, "Found"},
                                                      {303, "See Other"},
                                                      {304, "Not Modified"},
                                                      {400, "Bad Request"},
                                                      {401, "Unauthorized"},
                                                      {403, "Forbidden"},
                                                      {404, "Not Found"},
                                                      {405, "Method Not Allowed"},
                                                      {408, "Request Timeout"},
                                                      {409, "Conflict"},
                                                      {412, "Precondition Failed"},
                                                      {413, "Content Too Large"},
                                                      {414, "URI Too Long"},
                                                      {415, "Unsupported Media Type"},
                                                      {417, "Expectation Failed"},
                                                      {422, "Unprocessable Content"},
                                                      {429, "Too Many Requests"},
                                                      {431, "Request Header Fields Too Large"},
                                                      {500, "Internal Server Error"},
                                                      {501, "Not Implemented"},
                                                      {502, "Bad Gateway"},
                                                      {503, "Service Unavailable"},
                                                      {504, "Gateway Timeout"},
                                                      {505, "HTTP Version Not Supported"}};
  auto it = kReasons.find(status);
  return it == kReasons.end() ? "Unknown" : it->second;
}

// A handler's header value must not split the response (CR/LF injection).
void append_field(std::string& out, const std::string& name, const std::string& value) {
  out.append(name).append(": ");
  for (char c : value) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  out.append("\r\n");
}

// RFC 9110 6.6.1: an origin server with a clock sends Date. Formatted once
// a second per thread.
const char* http_date() {
  thread_local std::time_t formatted_at = 0;
  thread_local char text[40] = {};
  std::time_t now = std::time(nullptr);
  if (now != formatted_at) {
    std::tm parts{};
    gmtime_r(&now, &parts);
    // 29 characters: the buffer always holds them, so strftime cannot fail.
    (void)std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &parts);
    formatted_at = now;
  }
  return text;
}

bool has_field(const HeaderList& headers, const std::string& name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& header) { return iequals(header.first, name); });
}

}  // namespace

const HeaderList& security_headers() {
  static const HeaderList headers = {
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Content-Security-Policy",
       "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'"}};
  return headers;
}

std::string response_wire(const Response& response, const std::string& request_id,
                          const WireOptions& options) {
  int status = response.status;
  bool bodiless_status = status < 200 || status == 204 || status == 304;
  std::string out;
  out.reserve(256 + (options.head ? 0 : response.body.size()));
  out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ").append(reason(status));
  out.append("\r\nDate: ").append(http_date()).append("\r\n");
  append_field(out, "Content-Type", response.content_type);
  append_field(out, "X-Request-ID", request_id);
  for (const auto& [name, value] : response.headers) append_field(out, name, value);
  if (options.defaults) {
    for (const auto& [name, value] : *options.defaults) {
      if (!has_field(response.headers, name)) append_field(out, name, value);
    }
  }
  out.append(options.close ? "Connection: close\r\n" : "Connection: keep-alive\r\n");
  if (!bodiless_status && response.stream) {
    // An HTTP/1.0 client knows no chunked coding: its body ends with the
    // connection (RFC 9112 6.3), and the caller closes it.
    if (!options.http10) out.append("Transfer-Encoding: chunked\r\n");
  } else if (!bodiless_status) {
    append_field(out, "Content-Length", std::to_string(response.body.size()));
  }
  out.append("\r\n");
  if (!options.head && !bodiless_status && !response.stream) out.append(response.body);
  return out;
}

void append_chunk(std::string& out, std::string_view piece, bool http10) {
  if (http10) {
    out.append(piece);
    return;
  }
  if (piece.empty()) return;  // a zero-size chunk would end the body
  char size[20];
  int length = std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
  out.append(size, static_cast<std::size_t>(length));
  out.append(piece);
  out.append("\r\n");
}

void append_last_chunk(std::string& out, bool http10) {
  if (!http10) out.append("0\r\n\r\n");
}

const std::string& continue_wire() {
  static const std::string wire = "HTTP/1.1 100 Continue\r\n\r\n";
  return wire;
}

}  // namespace common::edge
