// Internal: one request answered, in the connection's fiber: the matched
// route's handler run with its errors mapped to the route's error body, the
// request reported to the observers (access log, metrics) before its answer
// can reach the client, the answer written -- streamed in chunks when it is
// too large to hold, each chunk written only once the client has taken most
// of the one before.
#pragma once

#include "edge/request_framer.hpp"

namespace common::edge {

class HttpConnection;
struct ServerState;

// False when the connection ends after this answer.
bool dispatch(HttpConnection& connection, ServerState& state, FramedRequest& framed);

}  // namespace common::edge
