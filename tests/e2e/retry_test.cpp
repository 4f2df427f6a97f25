// Which requests nginx (prod template) sends to another replica after one
// answered 503: GET and HEAD only. A write whose replica answered has an
// outcome in doubt (a DELETE may have been applied before the 503); sent
// again, the next replica would answer for a different state. Two stand-in
// replicas: the first always 503, the second always 200.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fake_upstream.hpp"
#include "support/free_port.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"

namespace {

void run(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("command failed: " + command);
}

class NginxRetry : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    unavailable_ = std::make_unique<e2e::FakeUpstream>(503);
    healthy_ = std::make_unique<e2e::FakeUpstream>(200);
    char pattern[] = "/tmp/users-e2e-retry-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    port_ = support::free_port();
    // max_fails=0: the 503 replica is never set aside, so every round of
    // nginx's round robin (one per worker) keeps choosing it first.
    const std::string root = support::project_root();
    run(root + "/scripts/render-nginx.sh prod " + dir_ + " " + std::to_string(port_) +
        " '127.0.0.1:" + std::to_string(unavailable_->port()) +
        " max_fails=0' '127.0.0.1:" + std::to_string(healthy_->port()) + " max_fails=0'");
    run(root + "/scripts/nginx.sh start " + dir_);
  }
  static void TearDownTestSuite() {
    std::system((support::project_root() + "/scripts/nginx.sh stop " + dir_).c_str());
    std::system(("rm -rf '" + dir_ + "'").c_str());
    unavailable_.reset();
    healthy_.reset();
  }
  void SetUp() override {
    unavailable_->clear();
    healthy_->clear();
  }

  // Sends `method` kRounds times, each on its own connection (so any worker);
  // the statuses. Raw bytes: a HEAD answer's Content-Length has no body.
  static std::vector<int> send(const std::string& method) {
    const bool with_body = method == "POST" || method == "PATCH" || method == "PUT";
    const std::string request =
        method + " /users/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
        (with_body ? "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" : "\r\n");
    std::vector<int> statuses;
    for (int i = 0; i < kRounds; ++i) {
      support::HttpConnection connection("127.0.0.1", port_);
      connection.send_raw(request);
      std::string bytes;
      char chunk[4096];
      for (ssize_t n; (n = ::recv(connection.fd(), chunk, sizeof chunk, 0)) > 0;)
        bytes.append(chunk, static_cast<std::size_t>(n));
      statuses.push_back(bytes.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(bytes.c_str() + 9) : 0);
    }
    return statuses;
  }
  static long count(const std::vector<int>& statuses, int status) {
    return std::count(statuses.begin(), statuses.end(), status);
  }

  static constexpr int kRounds = 8;
  static inline std::unique_ptr<e2e::FakeUpstream> unavailable_;
  static inline std::unique_ptr<e2e::FakeUpstream> healthy_;
  static inline std::string dir_;
  static inline int port_ = 0;
};

TEST_F(NginxRetry, GetAndHead_RetriedOnTheNextReplica) {
  for (const std::string method : {"GET", "HEAD"}) {
    SCOPED_TRACE(method);
    unavailable_->clear();
    healthy_->clear();
    auto statuses = send(method);
    EXPECT_EQ(count(statuses, 200), kRounds)
        << "every " << method << " answered by the healthy one";
    EXPECT_GE(unavailable_->requests().size(), 1u) << "the 503 replica was never tried";
    EXPECT_EQ(healthy_->requests().size(), static_cast<std::size_t>(kRounds));
  }
}

TEST_F(NginxRetry, Writes_SentOnceTheirAnswerPassesThrough) {
  for (const std::string method : {"DELETE", "POST", "PATCH", "PUT"}) {
    SCOPED_TRACE(method);
    unavailable_->clear();
    healthy_->clear();
    auto statuses = send(method);
    auto to_unavailable = unavailable_->requests().size();
    auto to_healthy = healthy_->requests().size();
    EXPECT_GE(to_unavailable, 1u) << "the 503 replica was never tried";
    EXPECT_EQ(to_unavailable + to_healthy, static_cast<std::size_t>(kRounds))
        << "a " << method << " was sent to more than one replica";
    EXPECT_EQ(count(statuses, 503), static_cast<long>(to_unavailable));
    EXPECT_EQ(count(statuses, 200), static_cast<long>(to_healthy));
  }
}

}  // namespace
