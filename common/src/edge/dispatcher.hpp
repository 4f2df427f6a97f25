// Internal: one request answered, in the connection's fiber: the matched
// route's handler run with its errors mapped to the route's error body, the
// request reported to the observers (access log, metrics) before its answer
// can reach the client, the answer written -- streamed in chunks when it is
// too large to hold, each chunk written only once the client has taken most
// of the one before.
//
// The dispatcher knows nothing of sockets or connections: it writes to the
// ResponseSink it is handed (the connection, seen through this one narrow
// interface), and the connection decides what a write means.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "edge/request_framer.hpp"
#include "edge/server_state.hpp"

namespace common::edge {

// Where an answer's bytes go.
class ResponseSink {
 public:
  // Queues bytes after what is already queued and sends what the socket
  // takes now. False once the connection is gone.
  virtual bool write(std::string_view bytes) = 0;
  // Suspends the calling fiber until at most `limit` bytes wait to be sent;
  // false when the connection is gone or the client took nothing for the
  // stall timeout.
  virtual bool wait_for_room(std::size_t limit) = 0;
  // Ends the connection now: a streamed body that cannot be finished must
  // not look complete.
  virtual void cut() = 0;

 protected:
  ~ResponseSink() = default;
};

// Answers `framed` (from a client at `peer_address`) into `sink`. False when
// the connection ends after this answer.
bool dispatch(ResponseSink& sink, ServerState& state, FramedRequest& framed,
              const std::string& peer_address);

}  // namespace common::edge
