// libFuzzer target over the HTTP path: raw bytes sent to the real app (its
// database unreachable), through the service's parser (common/src/edge),
// the route table and the handlers, on the event loops. The app must answer or close, never
// crash or hang, and keep answering /ping. The first byte picks how the bytes
// are sent:
// - as they are;
// - pipelined between two valid requests on one connection: the request
//   before them must be answered first, whatever follows;
// - as the body of a request that asked for "100 Continue": the 100 must
//   come first, before any final answer.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "app_factory.hpp"

namespace {

std::unique_ptr<common::App> app;

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) std::abort();
  return fd;
}

// Reads until the server closes or goes quiet for `quiet_ms` or, with
// `head_only`, a response head is complete; returns the bytes.
std::string read_from(int fd, int quiet_ms, bool head_only) {
  std::string out;
  char buffer[65536];
  while (!head_only || out.find("\r\n\r\n") == std::string::npos) {
    pollfd descriptor{fd, POLLIN, 0};
    if (::poll(&descriptor, 1, quiet_ms) <= 0) break;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

std::string drain(int fd, int quiet_ms) {
  return read_from(fd, quiet_ms, false);
}

std::string read_head(int fd, int timeout_ms) {
  return read_from(fd, timeout_ms, true);
}

constexpr std::size_t kMaxBody = 4096;  // MAX_BODY_BYTES below

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto config =
      users::UsersConfig::from_lookup([](const std::string& name) -> std::optional<std::string> {
        if (name == "APP_ENV") return "testing";
        if (name == "DATABASE_TEST_URL") return "postgresql://postgres@127.0.0.1:1/none";
        if (name == "HOST") return "127.0.0.1";
        if (name == "PORT") return "0";
        if (name == "THREADS") return "2";
        if (name == "LOG_LEVEL") return "off";
        if (name == "MAX_BODY_BYTES") return std::to_string(kMaxBody);
        return std::nullopt;
      });
  app = users::create_app(config);
  app->start();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] % 3;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string ping = "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n";
  int fd = connect_to(app->port());
  if (mode == 0) {
    ::send(fd, input.data(), input.size(), MSG_NOSIGNAL);
    read_head(fd, 2000);  // the final answer, before closing (see below)
  } else if (mode == 1) {
    std::string bytes = ping + input + ping;
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    // Pipelining: the valid request sent first is answered first.
    if (read_head(fd, 2000).rfind("HTTP/1.1 200", 0) != 0) __builtin_trap();
    drain(fd, 20);
  } else {
    std::string head =
        "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Expect: 100-continue\r\nContent-Length: " +
        std::to_string(input.size()) + "\r\n\r\n";
    ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    // Expect: "100 Continue" at once, or the final answer when the headers
    // decide it (413 over the limit; no body at all).
    std::string interim = read_head(fd, 2000);
    const char* expected = input.empty()             ? "HTTP/1.1 "
                           : input.size() > kMaxBody ? "HTTP/1.1 413"
                                                     : "HTTP/1.1 100 Continue\r\n\r\n";
    if (interim.rfind(expected, 0) != 0) __builtin_trap();
    ::send(fd, input.data(), input.size(), MSG_NOSIGNAL);
    read_head(fd, 2000);  // the final answer, before closing (see below)
  }
  // The modes above wait for their answers, so the probe below tests the
  // service and not a connection closed with an answer still queued.
  ::close(fd);
  // The service still answers.
  int probe = connect_to(app->port());
  const char close_ping[] = "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ::send(probe, close_ping, sizeof close_ping - 1, MSG_NOSIGNAL);
  std::string answer = drain(probe, 2000);
  ::close(probe);
  if (answer.rfind("HTTP/1.1 200", 0) != 0) __builtin_trap();
  return 0;
}
