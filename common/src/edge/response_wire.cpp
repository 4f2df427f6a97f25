// A response as bytes on the wire.
#include "edge/response_wire.hpp"

#include <cstdio>
#include <ctime>

namespace common::edge {
namespace {

const char* reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
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
    std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &parts);
    formatted_at = now;
  }
  return text;
}

}  // namespace

std::string response_wire(const Response& response, const std::string& request_id, bool head,
                          bool close, bool http10) {
  int status = response.status;
  bool bodiless_status = status < 200 || status == 204 || status == 304;
  std::string out;
  out.reserve(256 + (head ? 0 : response.body.size()));
  out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ").append(reason(status));
  out.append("\r\nDate: ").append(http_date()).append("\r\n");
  append_field(out, "Content-Type", response.content_type);
  append_field(out, "X-Request-ID", request_id);
  for (const auto& [name, value] : response.headers) append_field(out, name, value);
  out.append(close ? "Connection: close\r\n" : "Connection: keep-alive\r\n");
  if (!bodiless_status && response.stream) {
    // An HTTP/1.0 client knows no chunked coding: its body ends with the
    // connection (RFC 9112 6.3), and the caller closes it.
    if (!http10) out.append("Transfer-Encoding: chunked\r\n");
  } else if (!bodiless_status) {
    append_field(out, "Content-Length", std::to_string(response.body.size()));
  }
  out.append("\r\n");
  if (!head && !bodiless_status && !response.stream) out.append(response.body);
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
