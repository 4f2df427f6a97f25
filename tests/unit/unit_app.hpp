// Helpers for the unit tests that talk HTTP to an in-process app: a testing
// Config whose database URL points at a port nothing listens on (so nothing
// ever connects), and raw socket reads for what the HTTP client cannot
// express (HEAD responses, bytes after a response).
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/app.hpp"
#include "support/free_port.hpp"
#include "support/http_client.hpp"
#include "users_config.hpp"

namespace unit {

using Clock = std::chrono::steady_clock;

// APP_ENV=testing on 127.0.0.1, an ephemeral port, 2 threads, logs quiet.
inline users::UsersConfig test_config(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> vars = {
      {"APP_ENV", "testing"},
      {"DATABASE_TEST_URL",
       "postgresql://postgres@127.0.0.1:" + std::to_string(support::free_port()) + "/none"},
      {"HOST", "127.0.0.1"},
      {"PORT", "0"},
      {"THREADS", "2"},
      {"LOG_LEVEL", "off"}};
  for (auto& [key, value] : extra) vars[key] = value;
  return users::UsersConfig::from_lookup(
      [vars](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
      });
}

// Reads from `fd` into `out` until `marker` is in it, the peer closes
// (false) or the timeout passes (throws).
inline bool recv_until(int fd, std::string& out, std::string_view marker,
                       std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (out.find(marker) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) throw std::runtime_error("timed out waiting for the server");
    pollfd descriptor{fd, POLLIN, 0};
    if (::poll(&descriptor, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[65536];
    ssize_t received = ::recv(fd, chunk, sizeof chunk, 0);
    if (received <= 0) return false;
    out.append(chunk, static_cast<std::size_t>(received));
  }
  return true;
}

// Everything the peer sends until it closes (throws on timeout).
inline std::string recv_to_eof(int fd, std::chrono::milliseconds timeout) {
  std::string out;
  // A marker that never comes: read until the peer closes.
  recv_until(fd, out, std::string_view("\0never\0", 7), timeout);
  return out;
}

// The status code of a raw response ("HTTP/1.1 200 OK..."), 0 if malformed.
inline int status_of(std::string_view raw) {
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return 0;
  return std::stoi(std::string(raw.substr(9, 3)));
}

// A HEAD request, then a GET /ping on the same connection: what a keep-alive
// client sees. Read raw, since a HEAD response announces a length it does not
// send, which a generic client would wait for.
struct HeadExchange {
  std::string head;   // the HEAD response's status line and headers
  std::string after;  // every byte after them: must be the GET's response
};

inline HeadExchange head_then_ping(int port, const std::string& path) {
  using namespace std::chrono_literals;
  support::HttpConnection connection("127.0.0.1", port);
  connection.send_raw("HEAD " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string bytes;
  if (!recv_until(connection.fd(), bytes, "\r\n\r\n", 3s)) {
    throw std::runtime_error("closed before the HEAD response's headers: " + bytes);
  }
  auto end = bytes.find("\r\n\r\n") + 4;
  connection.send_raw("GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  return {bytes.substr(0, end), bytes.substr(end) + recv_to_eof(connection.fd(), 3s)};
}

inline bool iequals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The service's error shape: {"status":"fail","message":...} as JSON.
inline void expect_json_fail(const support::HttpResponse& response, int status,
                             const std::string& message = "") {
  EXPECT_EQ(response.status, status) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  nlohmann::json body;
  ASSERT_NO_THROW(body = response.json()) << response.body;
  EXPECT_EQ(body["status"], "fail") << response.body;
  EXPECT_TRUE(body["message"].is_string()) << response.body;
  if (!message.empty()) {
    EXPECT_EQ(body["message"], message);
  }
}

// One app per test suite, started once: `Suite` is the deriving class, so
// every suite has its own app. SetUpTestSuite hands it over with serve().
template <typename Suite>
class AppSuite : public ::testing::Test {
 protected:
  static void serve(std::unique_ptr<common::App> app) {
    app_ = std::move(app);
    app_->start();
  }
  static void TearDownTestSuite() { app_.reset(); }
  static int port() { return app_->port(); }
  static inline std::unique_ptr<common::App> app_;
};

}  // namespace unit
