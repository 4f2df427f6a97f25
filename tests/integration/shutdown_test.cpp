// Graceful shutdown of the real users-service: a request in flight when
// SIGTERM arrives still gets its answer, then the process exits 0.
#include <algorithm>

#include "binaries_fixture.hpp"
#include "support/free_port.hpp"
#include "support/http_client.hpp"

namespace {

using Clock = std::chrono::steady_clock;

class Shutdown : public ::testing::Test {
 protected:
  void SetUp() override {
    auto recreated = binaries::recreate_db();
    ASSERT_EQ(recreated.exit_code, 0) << recreated.output;
    binaries::execute(
        "INSERT INTO users (username, email) VALUES ('michael', 'michael@realpython.com')");
    port_ = support::free_port();
    service_ = std::make_unique<binaries::Child>(
        USERS_SERVICE_PATH,
        std::vector<std::string>{"APP_ENV=testing", "DATABASE_TEST_URL=" + binaries::database_url(),
                                 "HOST=127.0.0.1", "PORT=" + std::to_string(port_), "THREADS=2",
                                 "LOG_LEVEL=warn"});
    // Ready as an orchestrator sees it: /health/ready answers 200 (every loop
    // has its database connections, opened at start-up).
    auto deadline = Clock::now() + std::chrono::seconds(10);
    bool up = false;
    while (!up && Clock::now() < deadline) {
      try {
        up = support::http_request(port_, "GET", "/health/ready").status == 200;
        if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      } catch (const std::exception&) {
        ASSERT_FALSE(service_->wait_exit(std::chrono::milliseconds(20)).has_value())
            << "users-service exited at start-up";
      }
    }
    ASSERT_TRUE(up) << "users-service was not ready within 10 s";
  }

  // Waits up to 10 s for the exit after SIGTERM; expects status 0.
  void expect_clean_exit_within_10s(Clock::time_point signalled) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::seconds(10) -
                                                                      (Clock::now() - signalled));
    auto status = service_->wait_exit(std::max(left, std::chrono::milliseconds(0)));
    ASSERT_TRUE(status.has_value()) << "users-service still running 10 s after SIGTERM";
    EXPECT_TRUE(WIFEXITED(*status)) << "killed by signal " << WTERMSIG(*status);
    if (WIFEXITED(*status)) {
      EXPECT_EQ(WEXITSTATUS(*status), 0);
    }
  }

  int port_ = 0;
  std::unique_ptr<binaries::Child> service_;
};

int lock_waiters() {
  pqxx::connection connection(binaries::database_url());
  pqxx::nontransaction work(connection);
  return work.exec("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")[0][0]
      .as<int>();
}

TEST_F(Shutdown, SigtermDuringRequest_RequestAnswered200ThenExitsZero) {
  // Hold a lock so that GET /users blocks inside PostgreSQL.
  pqxx::connection locker(binaries::database_url());
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");

  support::HttpConnection in_flight("127.0.0.1", port_, std::chrono::seconds(15));
  in_flight.send_raw("GET /users HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (lock_waiters() == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(lock_waiters(), 1) << "GET /users never reached the database";

  ASSERT_TRUE(service_->signal(SIGTERM));
  auto signalled = Clock::now();
  // Draining: not ready any more, so a balancer stops sending traffic.
  int ready = 0;
  while (ready != 503 && Clock::now() - signalled < std::chrono::milliseconds(800)) {
    try {
      ready = support::http_request(port_, "GET", "/health/ready").status;
    } catch (const std::exception&) {
      ready = -1;  // refused: no longer accepting, which is fine too
      break;
    }
    if (ready != 503) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(ready == 503 || ready == -1)
      << "/health/ready answered " << ready << " while draining";
  std::this_thread::sleep_until(signalled + std::chrono::seconds(1));
  EXPECT_FALSE(service_->wait_exit(std::chrono::milliseconds(0)).has_value())
      << "exited with a request still in flight";
  lock.abort();

  support::HttpResponse response;
  try {
    response = in_flight.read_response();
  } catch (const std::exception& error) {
    FAIL() << "the in-flight request got no answer: " << error.what();
  }
  EXPECT_EQ(response.status, 200) << response.body;
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << response.body;
  EXPECT_EQ(body["data"]["users"].size(), 1u) << response.body;
  expect_clean_exit_within_10s(signalled);
}

TEST_F(Shutdown, SigtermDuringManyRequests_EveryOneAnswered200ThenExitsZero) {
  constexpr int kRequests = 8;
  pqxx::connection locker(binaries::database_url());
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");

  std::vector<std::unique_ptr<support::HttpConnection>> in_flight;
  for (int i = 0; i < kRequests; ++i) {
    in_flight.push_back(
        std::make_unique<support::HttpConnection>("127.0.0.1", port_, std::chrono::seconds(15)));
    in_flight.back()->send_raw("GET /users HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  }
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (lock_waiters() == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(lock_waiters(), 1) << "GET /users never reached the database";

  ASSERT_TRUE(service_->signal(SIGTERM));
  auto signalled = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  lock.abort();

  for (int i = 0; i < kRequests; ++i) {
    SCOPED_TRACE(i);
    try {
      auto response = in_flight[i]->read_response();
      EXPECT_EQ(response.status, 200) << response.body;
    } catch (const std::exception& error) {
      ADD_FAILURE() << "the in-flight request got no answer: " << error.what();
    }
  }
  expect_clean_exit_within_10s(signalled);
}

TEST_F(Shutdown, SigtermWithIdleKeepAliveConnection_ExitsZeroPromptly) {
  support::HttpConnection idle("127.0.0.1", port_);
  ASSERT_EQ(idle.request("GET", "/users").status, 200);
  ASSERT_TRUE(service_->signal(SIGTERM));
  auto signalled = Clock::now();
  expect_clean_exit_within_10s(signalled);
  EXPECT_LT(Clock::now() - signalled, std::chrono::seconds(3));
}

}  // namespace
