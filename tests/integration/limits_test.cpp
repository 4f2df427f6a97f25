// The service under a small descriptor limit (ulimit -n 256) with more idle
// connections than it may hold: it stays idle, refuses new connections at
// once instead of letting them time out, and serves again once the idle ones
// are gone.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "binaries_fixture.hpp"
#include "support/free_port.hpp"
#include "support/http_client.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The process's user + system CPU time so far, in clock ticks.
long cpu_ticks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  long utime = 0;
  long stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

// True when the server closes a new connection without an answer within
// `within` (refused at once), false when it answers or says nothing.
bool closed_at_once(int port, std::chrono::milliseconds within) {
  support::HttpConnection connection("127.0.0.1", port);
  connection.send_raw("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n");
  pollfd ready{connection.fd(), POLLIN, 0};
  if (::poll(&ready, 1, static_cast<int>(within.count())) <= 0) return false;
  char byte;
  return ::recv(connection.fd(), &byte, 1, 0) <= 0;
}

TEST(DescriptorLimit, ManyIdleConnections_IdleCpuRefusedAtOnceThenServesAgain) {
  auto migrated = binaries::run("env -i APP_ENV=testing DATABASE_TEST_URL='" +
                                binaries::database_url() + "' " MANAGE_PATH " migrate");
  ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
  int port = support::free_port();
  binaries::Child service(
      "/bin/sh",
      {"APP_ENV=testing", "DATABASE_TEST_URL=" + binaries::database_url(), "HOST=127.0.0.1",
       "PORT=" + std::to_string(port), "THREADS=2", "LOG_LEVEL=error"},
      {"-c", "ulimit -n 256 && exec " USERS_SERVICE_PATH});
  bool up = false;
  std::string last;
  for (auto until = Clock::now() + 10s; !up && Clock::now() < until;) {
    try {
      auto ready = support::http_request(port, "GET", "/health/ready");
      up = ready.status == 200;
      last = ready.body;
    } catch (const std::exception& error) {
      last = error.what();
    }
    if (!up) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(up) << "users-service was not ready within 10 s: " << last;

  std::vector<std::unique_ptr<support::HttpConnection>> idle;
  for (int i = 0; i < 400; ++i) {
    try {
      idle.push_back(std::make_unique<support::HttpConnection>("127.0.0.1", port));
    } catch (const std::exception&) {
      break;  // the test process's own limit; enough are open
    }
  }
  ASSERT_GT(idle.size(), 250u);
  std::this_thread::sleep_for(500ms);  // accepted or refused by now

  long before = cpu_ticks(service.pid());
  std::this_thread::sleep_for(2s);
  long used = cpu_ticks(service.pid()) - before;
  long per_second = ::sysconf(_SC_CLK_TCK);
  EXPECT_LT(used, per_second / 10) << "more than 5 % of a core over 2 s while idle";

  auto started = Clock::now();
  EXPECT_TRUE(closed_at_once(port, 2s)) << "a new connection was neither refused nor answered";
  EXPECT_LT(Clock::now() - started, 1s);

  idle.clear();
  bool serves = false;
  for (auto until = Clock::now() + 5s; !serves && Clock::now() < until;) {
    try {
      serves = support::http_request(port, "GET", "/ping").status == 200;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_TRUE(serves) << "not serving again after the idle connections closed";
  auto metrics = support::http_request(port, "GET", "/metrics");
  EXPECT_NE(metrics.body.find("\nopen_connections "), std::string::npos);
}

}  // namespace
