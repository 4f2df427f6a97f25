// Internal: writes a streamed body straight to a connection's socket from the
// handler's worker thread, waiting for room with poll(). Pistache 0.0.5's
// queued writes can stop for good after a partial write (EAGAIN: the socket
// is re-armed for EPOLLOUT and then disarmed again; upstream issue #1114),
// and a body larger than the socket buffers always meets EAGAIN. Holding a
// whole list in memory to avoid that is what streaming is there to avoid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

namespace common::edge {

enum class WriteResult {
  done,
  stalled,  // the peer took nothing for the whole idle timeout
  failed,   // the connection is gone (reset, closed, or closed by Pistache)
};

// Sends the bytes given, as ::send() would (returns the count or -1 with
// errno). The caller uses it to send only while the connection is still its.
using SendSome = std::function<ssize_t(const char* data, std::size_t size)>;

// Writes all of `data` through `send_some`, polling `fd` for room whenever the
// socket is full. Gives up when the peer takes nothing for `idle_timeout`.
WriteResult write_all(int fd, std::string_view data, const SendSome& send_some,
                      std::chrono::milliseconds idle_timeout);

}  // namespace common::edge
