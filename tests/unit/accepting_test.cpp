// Accepting (http_server.hpp): one listening socket per loop in a
// SO_REUSEPORT group, so a new connection wakes the one loop that takes it
// instead of every loop (of which all but one would find nothing to accept).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/blueprint.hpp"
#include "common/json_response.hpp"
#include "http_server.hpp"
#include "support/http_client.hpp"
#include "unit_app.hpp"

namespace {

std::vector<common::Route> ping_route() {
  return {{"GET", "/ping",
           [](const common::Request&) { return common::success_message(200, "pong!"); },
           common::json_error}};
}

// True when nothing listens on 127.0.0.1:port (the connection is refused).
bool refused(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool result = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 &&
                errno == ECONNREFUSED;
  ::close(fd);
  return result;
}

// Voluntary context switches so far of the loop threads ("users-loop..."):
// each is a time a loop went to sleep, so each wakeup costs one.
long long loop_switches() {
  long long total = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (!std::getline(comm, name) || name.rfind("users-loop", 0) != 0) continue;
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) total += std::stoll(line.substr(24));
    }
  }
  return total;
}

// The loops' wakeups per new connection (each with one request), served
// with `threads` loops.
double wakeups_per_connection(int threads, int connections) {
  auto config = unit::test_config({{"THREADS", std::to_string(threads)}});
  common::HttpServer server(config, ping_route(), {}, nullptr);
  server.start();
  for (int i = 0; i < 20; ++i) support::http_request(server.port(), "GET", "/ping");  // warm
  long long before = loop_switches();
  for (int i = 0; i < connections; ++i) support::http_request(server.port(), "GET", "/ping");
  return static_cast<double>(loop_switches() - before) / connections;
}

// With one shared listening socket every loop woke for every connection:
// 4.4-4.6 wakeups per connection with four loops, against 1.1-1.3 with a
// socket per loop (a connection wakes the loop that takes it, a little more
// than once as its request may come in a wakeup of its own).
TEST(Accepting, NewConnection_WakesOneLoopNotEvery) {
  double four = wakeups_per_connection(4, 300);
  std::printf("loop wakeups per connection with 4 loops: %.2f\n", four);
  EXPECT_LT(four, 2.5);
}

TEST(Accepting, ManyConnections_AllServedSpreadOverTheLoops_NoAcceptCameUpEmpty) {
  auto config = unit::test_config({{"THREADS", "4"}});
  common::HttpServer server(config, ping_route(), {}, nullptr);
  server.start();
  constexpr int kConnections = 200;
  int served = 0;
  for (int i = 0; i < kConnections; ++i) {
    served += support::http_request(server.port(), "GET", "/ping").status == 200;
  }
  EXPECT_EQ(served, kConnections);
  auto counts = server.accept_counts();
  ASSERT_EQ(counts.accepted.size(), 4u);
  long long total = 0;
  for (std::size_t loop = 0; loop < counts.accepted.size(); ++loop) {
    total += counts.accepted[loop];
    // Spread by the kernel's hash of the addresses: with 200 connections
    // over 4 sockets, a loop with none is a chance of about 4 * 0.75^200.
    EXPECT_GT(counts.accepted[loop], 0) << "loop " << loop << " accepted nothing";
  }
  EXPECT_EQ(total, kConnections);
  EXPECT_EQ(counts.idle_wakeups, 0) << "a loop found its connection taken by another";
}

// SO_REUSEPORT must not let a second server share the port silently.
TEST(Accepting, SecondServerOnTheSamePort_RefusedAtStart) {
  auto config = unit::test_config({{"THREADS", "2"}});
  common::HttpServer first(config, ping_route(), {}, nullptr);
  first.start();
  auto taken = unit::test_config({{"THREADS", "2"}, {"PORT", std::to_string(first.port())}});
  common::HttpServer second(taken, ping_route(), {}, nullptr);
  try {
    second.start();
    ADD_FAILURE() << "a second server started on port " << first.port();
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("cannot listen"), std::string::npos) << error.what();
  }
  EXPECT_EQ(support::http_request(first.port(), "GET", "/ping").status, 200);
}

// Draining closes every loop's listening socket: a new client is refused
// at once, an open keep-alive connection is still answered.
TEST(Accepting, StopAccepting_EveryLoopsSocketClosed_OpenConnectionsServed) {
  auto config = unit::test_config({{"THREADS", "3"}});
  std::atomic<bool> draining{false};
  common::HttpServer server(config, ping_route(), {}, &draining);
  server.start();
  support::HttpConnection open("127.0.0.1", server.port());
  support::HttpConnection busy("127.0.0.1", server.port());
  ASSERT_EQ(open.request("GET", "/ping").status, 200);
  busy.send_raw("GET /ping HTTP/1.1\r\nHost: x\r\n");  // a request half sent
  server.stop_accepting();
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(refused(server.port())) << "attempt " << i;
  busy.send_raw("\r\n");
  EXPECT_EQ(busy.read_response().status, 200);
}

}  // namespace
