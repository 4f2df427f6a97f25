// Blocking-with-a-deadline writes on a non-blocking socket.
#include "edge/socket_writer.hpp"

#include <poll.h>

#include <cerrno>

namespace common::edge {

WriteResult write_all(int fd, std::string_view data, const SendSome& send_some,
                      std::chrono::milliseconds idle_timeout) {
  std::size_t written = 0;
  while (written < data.size()) {
    ssize_t sent = send_some(data.data() + written, data.size() - written);
    if (sent > 0) {
      written += static_cast<std::size_t>(sent);
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return WriteResult::failed;
    pollfd room{fd, POLLOUT, 0};
    int ready = ::poll(&room, 1, static_cast<int>(idle_timeout.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return WriteResult::stalled;
    if (ready < 0 || (room.revents & (POLLERR | POLLHUP | POLLNVAL))) return WriteResult::failed;
  }
  return WriteResult::done;
}

}  // namespace common::edge
