// The database goes away and comes back: 503 fast, then service resumes with
// no restart. Its own binary, so its cluster is its own.
#include <chrono>
#include <future>
#include <thread>

#include "service_fixture.hpp"

namespace {

using Clock = std::chrono::steady_clock;

TEST(DatabaseOutage, StopThenStart_503ThenRecovers) {
  auto& s = fixture::service();
  int port = s.app->port();
  ASSERT_EQ(support::http_request(port, "GET", "/users").status, 200);

  s.cluster->stop();
  for (int i = 0; i < 3; ++i) {
    auto started = Clock::now();
    auto response = support::http_request(port, "GET", "/users");
    auto took = Clock::now() - started;
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(response.header("Content-Type"), "application/json");
    EXPECT_EQ(response.json()["status"], "fail");
    EXPECT_TRUE(response.has_header("Retry-After"));
    EXPECT_LT(took, std::chrono::seconds(5));
  }
  EXPECT_EQ(support::http_request(port, "GET", "/health/ready").status, 503);
  EXPECT_EQ(support::http_request(port, "GET", "/health/live").status, 200);
  EXPECT_EQ(support::http_request(port, "GET", "/ping").status, 200);

  s.cluster->start();
  int status = 0;
  auto deadline = Clock::now() + std::chrono::seconds(15);
  while (Clock::now() < deadline) {
    status = support::http_request(port, "GET", "/users").status;
    if (status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(support::http_request(port, "GET", "/health/ready").status, 200);
}

// One pooled connection, held by a request stuck behind a table lock: the next
// request waits a bounded time, then gets 503 with Retry-After; when the lock
// goes, the first one completes. Never a deadlock.
TEST(PoolExhausted, BoundedWaitThen503) {
  auto& s = fixture::service();
  auto config = fixture::testing_config(s.database_url);
  config.db_pool_size = 1;
  auto app = users::create_app(config);
  app->start();
  int port = app->port();
  ASSERT_EQ(support::http_request(port, "GET", "/users").status, 200);

  pqxx::connection locker(s.database_url);
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
  auto stuck = std::async(std::launch::async,
                          [port] { return support::http_request(port, "GET", "/users"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  auto started = Clock::now();
  auto waited = support::http_request(port, "GET", "/users/1");
  auto took = Clock::now() - started;
  EXPECT_EQ(waited.status, 503);
  EXPECT_EQ(waited.header("Retry-After"), "1");
  EXPECT_GE(took, std::chrono::milliseconds(1500));
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(support::http_request(port, "GET", "/ping").status, 200);

  lock.abort();
  EXPECT_EQ(stuck.get().status, 200);
  EXPECT_EQ(support::http_request(port, "GET", "/users").status, 200);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new fixture::Environment);
  return RUN_ALL_TESTS();
}
