#include "fake_upstream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace e2e {

FakeUpstream::FakeUpstream(int status) : status_(status) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 64) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(listener_);
    throw std::runtime_error("cannot listen on a loopback port");
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeUpstream::~FakeUpstream() {
  stopping_ = true;
  thread_.join();
  ::close(listener_);
}

std::vector<std::string> FakeUpstream::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

void FakeUpstream::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  requests_.clear();
}

void FakeUpstream::serve() {
  while (!stopping_) {
    pollfd ready{listener_, POLLIN, 0};
    if (::poll(&ready, 1, 50) <= 0) continue;  // wakes up to see stopping_
    int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    answer(fd);
    ::close(fd);
  }
}

// Reads one request (head and a Content-Length body), records it, answers.
void FakeUpstream::answer(int fd) {
  timeval timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string bytes;
  char chunk[4096];
  std::size_t head_end;
  while ((head_end = bytes.find("\r\n\r\n")) == std::string::npos) {
    ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
    if (got <= 0) return;
    bytes.append(chunk, static_cast<std::size_t>(got));
  }
  std::size_t body_length = 0;
  for (const char* name : {"\r\nContent-Length:", "\r\ncontent-length:"}) {
    auto at = bytes.find(name);
    if (at != std::string::npos && at < head_end)
      body_length = std::strtoul(bytes.c_str() + at + 17, nullptr, 10);
  }
  while (bytes.size() < head_end + 4 + body_length) {
    ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
    if (got <= 0) return;
    bytes.append(chunk, static_cast<std::size_t>(got));
  }
  auto method_end = bytes.find(' ');
  auto path_end = bytes.find(' ', method_end + 1);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(bytes.substr(0, path_end));
  }
  const bool head = bytes.compare(0, method_end, "HEAD") == 0;
  const std::string body = status_ < 400 ? R"({"status":"success","message":"fake"})"
                                         : R"({"status":"fail","message":"fake"})";
  const std::string reply =
      "HTTP/1.1 " + std::to_string(status_) +
      " Fake\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + (head ? "" : body);
  ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
}

}  // namespace e2e
