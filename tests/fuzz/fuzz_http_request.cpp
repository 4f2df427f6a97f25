// libFuzzer target over the HTTP path: raw bytes sent to the real app (its
// database unreachable), through Pistache's parser, our input guard, the
// router and the handlers. The app must answer or close, never crash or hang,
// and keep answering /ping.
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

// Reads until the server goes quiet for `quiet_ms` or closes; returns bytes.
std::string drain(int fd, int quiet_ms) {
  std::string out;
  char buffer[65536];
  for (;;) {
    pollfd descriptor{fd, POLLIN, 0};
    if (::poll(&descriptor, 1, quiet_ms) <= 0) break;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto config =
      common::Config::from_lookup([](const std::string& name) -> std::optional<std::string> {
        if (name == "APP_ENV") return "testing";
        if (name == "DATABASE_TEST_URL") return "postgresql://postgres@127.0.0.1:1/none";
        if (name == "HOST") return "127.0.0.1";
        if (name == "PORT") return "0";
        if (name == "THREADS") return "2";
        if (name == "LOG_LEVEL") return "off";
        if (name == "MAX_BODY_BYTES") return "4096";
        return std::nullopt;
      });
  app = users::create_app(config);
  app->start();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = connect_to(app->port());
  ::send(fd, data, size, MSG_NOSIGNAL);
  drain(fd, 5);
  ::close(fd);
  // The service still answers.
  int probe = connect_to(app->port());
  const char ping[] = "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ::send(probe, ping, sizeof ping - 1, MSG_NOSIGNAL);
  std::string answer = drain(probe, 2000);
  ::close(probe);
  if (answer.rfind("HTTP/1.1 200", 0) != 0) __builtin_trap();
  return 0;
}
