// The proxy's thread: one poll() over the listener, every forwarded pair and
// a wake-up pipe; while silent it polls the pipe alone.
#include "silent_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <vector>

namespace fixture {

namespace {

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    auto written = ::send(fd, data, size, MSG_NOSIGNAL);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    data += written;
    size -= static_cast<std::size_t>(written);
  }
  return true;
}

}  // namespace

SilentProxy::SilentProxy(int target_port) : target_port_(target_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener_, 64) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      ::pipe2(wake_pipe_, O_CLOEXEC) != 0) {
    throw std::runtime_error("the proxy could not listen");
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { run(); });
}

SilentProxy::~SilentProxy() {
  stopping_ = true;
  wake();
  thread_.join();
  for (const auto& [fd, other] : peer_) ::close(fd);
  ::close(listener_);
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

void SilentProxy::go_silent() {
  silent_ = true;
  wake();
}

void SilentProxy::resume() {
  silent_ = false;
  wake();
}

void SilentProxy::wake() {
  char byte = 1;
  [[maybe_unused]] auto written = ::write(wake_pipe_[1], &byte, 1);
}

void SilentProxy::run() {
  std::vector<pollfd> watched;
  while (!stopping_) {
    watched.clear();
    watched.push_back({wake_pipe_[0], POLLIN, 0});
    if (!silent_) {
      watched.push_back({listener_, POLLIN, 0});
      for (const auto& [fd, other] : peer_) watched.push_back({fd, POLLIN, 0});
    }
    if (::poll(watched.data(), watched.size(), 1000) <= 0) continue;
    if (watched[0].revents & POLLIN) {
      char drained[64];
      [[maybe_unused]] auto got = ::read(wake_pipe_[0], drained, sizeof drained);
      continue;  // silent_ may have changed: poll again with the right set
    }
    if (watched[1].revents & POLLIN) accept_one();
    for (std::size_t i = 2; i < watched.size(); ++i) {
      if (!watched[i].revents) continue;
      auto it = peer_.find(watched[i].fd);
      if (it == peer_.end()) continue;  // closed with its pair just now
      if (!forward(it->first, it->second)) close_pair(it->first);
    }
  }
}

void SilentProxy::accept_one() {
  int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0) return;
  int server = connect_to(target_port_);
  if (server < 0) {
    ::close(client);
    return;
  }
  ++accepted_;
  peer_[client] = server;
  peer_[server] = client;
}

bool SilentProxy::forward(int from, int to) {
  char buffer[16384];
  auto got = ::recv(from, buffer, sizeof buffer, 0);
  if (got < 0 && errno == EINTR) return true;
  if (got <= 0) return false;
  return write_all(to, buffer, static_cast<std::size_t>(got));
}

void SilentProxy::close_pair(int fd) {
  int other = peer_[fd];
  peer_.erase(fd);
  peer_.erase(other);
  ::close(fd);
  ::close(other);
}

}  // namespace fixture
