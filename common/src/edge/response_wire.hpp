// Internal: a response as bytes on the wire. The service writes its
// responses itself rather than through Pistache 0.0.5's ResponseWriter, which
// sends "Content-Length: 0" for HEAD (RFC 9110 9.3.2 and 8.6: a HEAD answer
// carries GET's headers, its length included), silently drops headers added
// raw, and decides Connection before the handler runs.
#pragma once

#include <string>

#include "common/http.hpp"

namespace common::edge {

// Status line, Content-Type, X-Request-ID, the response's own headers,
// Connection and Content-Length, then the body unless `head`. No length or
// body for 1xx, 204 and 304.
std::string response_wire(const Response& response, const std::string& request_id, bool head,
                          bool close);

// "HTTP/1.1 100 Continue" (RFC 9110 15.2.1).
const std::string& continue_wire();

}  // namespace common::edge
