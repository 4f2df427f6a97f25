// Internal: a response as bytes on the wire. The service writes its
// responses itself rather than through Pistache 0.0.5's ResponseWriter, which
// sends "Content-Length: 0" for HEAD (RFC 9110 9.3.2 and 8.6: a HEAD answer
// carries GET's headers, its length included), silently drops headers added
// raw, and decides Connection before the handler runs.
#pragma once

#include <string>
#include <string_view>

#include "common/http.hpp"

namespace common::edge {

// How one answer goes on the wire, beyond the response itself.
struct WireOptions {
  bool head = false;    // a HEAD request: GET's head, never the body
  bool close = false;   // "Connection: close" (the connection ends after it)
  bool http10 = false;  // an HTTP/1.0 client: a streamed body is not chunked
  // Each added unless the response has its own field of that name (the
  // security headers when SECURITY_HEADERS is on); none when null.
  const HeaderList* defaults = nullptr;
};

// Status line, Content-Type, X-Request-ID, the response's own headers, the
// defaults, Connection and Content-Length, then the body unless `head`. No
// length or body for 1xx, 204 and 304. For a streamed response
// (Response::stream), only the head, with Transfer-Encoding: chunked (none
// for an HTTP/1.0 client, whose body the closing connection ends).
std::string response_wire(const Response& response, const std::string& request_id,
                          const WireOptions& options = {});

// What SECURITY_HEADERS adds, the same set as nginx/prod.conf.template's:
// no MIME sniffing, no framing, no Referer, and a Content-Security-Policy
// that allows the service's own stylesheet and form posts only.
const HeaderList& security_headers();

// One piece of a streamed body as a chunk (as is for HTTP/1.0); nothing for
// an empty piece.
void append_chunk(std::string& out, std::string_view piece, bool http10);
// The end of a chunked body (no trailers).
void append_last_chunk(std::string& out, bool http10);

// "HTTP/1.1 100 Continue" (RFC 9110 15.2.1).
const std::string& continue_wire();

}  // namespace common::edge
