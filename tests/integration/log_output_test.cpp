// The log on the real users-service: a stdout that nobody reads (a stuck log
// driver) costs dropped lines, never answers; and every line still carries the
// request id of the request it was written for, though a log thread writes it.
#include <fcntl.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "binaries_fixture.hpp"
#include "support/free_port.hpp"
#include "support/http_client.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class LogOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    auto recreated = binaries::recreate_db();
    ASSERT_EQ(recreated.exit_code, 0) << recreated.output;
    binaries::execute(
        "INSERT INTO users (username, email) VALUES ('michael', 'michael@realpython.com')");
  }

  // The service at the production log level, its stdout and stderr on `output_fd`.
  void start(int output_fd, const std::string& log_format = "text") {
    port_ = support::free_port();
    service_ = std::make_unique<binaries::Child>(
        USERS_SERVICE_PATH,
        std::vector<std::string>{"APP_ENV=testing", "DATABASE_TEST_URL=" + binaries::database_url(),
                                 "HOST=127.0.0.1", "PORT=" + std::to_string(port_), "THREADS=2",
                                 "LOG_LEVEL=info", "LOG_FORMAT=" + log_format},
        std::vector<std::string>{}, output_fd);
    auto deadline = Clock::now() + std::chrono::seconds(10);
    bool up = false;
    while (!up && Clock::now() < deadline) {
      try {
        up = support::http_request(port_, "GET", "/health/ready").status == 200;
        if (!up) std::this_thread::sleep_for(milliseconds(20));
      } catch (const std::exception&) {
        ASSERT_FALSE(service_->wait_exit(milliseconds(20)).has_value())
            << "users-service exited at start-up";
      }
    }
    ASSERT_TRUE(up) << "users-service was not ready within 10 s";
  }

  // SIGTERM, then the exit status within `limit`.
  void expect_exit_zero_within(milliseconds limit) {
    ASSERT_TRUE(service_->signal(SIGTERM));
    auto status = service_->wait_exit(limit);
    ASSERT_TRUE(status.has_value()) << "still running " << limit.count() << " ms after SIGTERM";
    ASSERT_TRUE(WIFEXITED(*status)) << "killed by signal " << WTERMSIG(*status);
    EXPECT_EQ(WEXITSTATUS(*status), 0);
  }

  // Concurrent requests, each with its own X-Request-Id ("u-<client>-<n>"
  // for GET /users/1, which waits for the database, so fibers interleave on
  // the loops; "p-..." for /ping), then SIGTERM: the service's whole output.
  std::string log_of_requests_with_ids(const std::string& log_format);

  int port_ = 0;
  std::unique_ptr<binaries::Child> service_;
};

constexpr int kIdClients = 4;
constexpr int kIdEach = 100;

std::string LogOutput::log_of_requests_with_ids(const std::string& log_format) {
  char path[] = "/tmp/users-log-XXXXXX";
  int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  if (fd < 0) return {};
  start(fd, log_format);
  ::close(fd);
  if (HasFatalFailure()) return {};
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int c = 0; c < kIdClients; ++c) {
    clients.emplace_back([&, c] {
      support::HttpConnection connection("127.0.0.1", port_);
      for (int i = 0; i < kIdEach; ++i) {
        bool user = i % 2 == 0;
        std::string id = (user ? "u-" : "p-") + std::to_string(c) + "-" + std::to_string(i);
        auto response =
            connection.request("GET", user ? "/users/1" : "/ping", "", {{"X-Request-Id", id}});
        if (response.status == 200) ++answered;
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(answered.load(), kIdClients * kIdEach);
  expect_exit_zero_within(milliseconds(10000));  // every queued line written before the exit
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  std::remove(path);
  return text.str();
}

// One answer on a new connection within 1 s, or the reason why not.
std::string answered_within_1s(int port, const std::string& path, int expected) {
  auto started = Clock::now();
  try {
    support::HttpConnection connection("127.0.0.1", port, milliseconds(1000));
    auto response = connection.request("GET", path);
    if (response.status != expected) return path + " answered " + std::to_string(response.status);
  } catch (const std::exception& error) {
    return path + ": " + error.what();
  }
  if (Clock::now() - started > milliseconds(1000)) return path + " took more than 1 s";
  return {};
}

TEST_F(LogOutput, StdoutNobodyReads_20000RequestsThenStillAnswersWithin1sAndExitsZero) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  start(fds[1]);
  ::close(fds[1]);  // fds[0] stays open and is never read: writes fill the pipe, then block

  // 20,000 requests, pipelined 50 at a time so that the clients are not the bottleneck.
  constexpr int kClients = 4;
  constexpr int kBatches = 100;
  constexpr int kBatch = 50;
  std::string batch;
  for (int i = 0; i < kBatch; ++i) {
    batch += std::string("GET ") + (i % 2 == 0 ? "/ping" : "/users/1") +
             " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  }
  std::atomic<int> answered{0};
  std::vector<std::string> failures(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      try {
        support::HttpConnection connection("127.0.0.1", port_, std::chrono::seconds(5));
        for (int b = 0; b < kBatches; ++b) {
          connection.send_raw(batch);
          for (int i = 0; i < kBatch; ++i) {
            auto response = connection.read_response();
            if (response.status != 200) {
              failures[c] = "answered " + std::to_string(response.status);
              return;
            }
            ++answered;
          }
        }
      } catch (const std::exception& error) {
        failures[c] = error.what();
      }
    });
  }
  for (auto& client : clients) client.join();
  for (const auto& failure : failures) EXPECT_EQ(failure, "") << answered << " answered before";
  EXPECT_EQ(answered.load(), kClients * kBatches * kBatch);

  EXPECT_EQ(answered_within_1s(port_, "/ping", 200), "");
  EXPECT_EQ(answered_within_1s(port_, "/users/1", 200), "");

  // The pipe really was full: lines were dropped, and counted.
  auto metrics = support::http_request(port_, "GET", "/metrics").body;
  std::smatch dropped;
  ASSERT_TRUE(std::regex_search(metrics, dropped, std::regex("\nlog_lines_dropped_total (\\d+)\n")))
      << metrics;
  EXPECT_GT(std::stoull(dropped[1]), 0u);

  // Nothing in flight: the drain ends at once, then the log gets its 1 s.
  expect_exit_zero_within(milliseconds(5000));
  ::close(fds[0]);
}

TEST_F(LogOutput, TextLines_CarryTheRequestIdOfTheirRequest) {
  std::string log = log_of_requests_with_ids("text");
  // "<time> info  [u-2-14] GET /users/:id 200 0.812ms 98B"
  std::set<std::string> seen;
  std::istringstream lines(log);
  std::regex access(R"(\[([up]-\d+-\d+)\] (GET \S+) 200 )");
  for (std::string line; std::getline(lines, line);) {
    EXPECT_EQ(line.find('\x1e'), std::string::npos) << "the queue's tag leaked: " << line;
    std::smatch match;
    if (!std::regex_search(line, match, access)) continue;
    std::string id = match[1];
    EXPECT_EQ(match[2].str(), id[0] == 'u' ? "GET /users/:id" : "GET /ping") << line;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kIdClients * kIdEach)) << log.substr(0, 2000);
}

TEST_F(LogOutput, JsonLines_CarryTheRequestIdOfTheirRequest) {
  std::string log = log_of_requests_with_ids("json");
  std::set<std::string> seen;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    auto object = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(object.is_object()) << "not one JSON object: " << line;
    ASSERT_TRUE(object["request_id"].is_string()) << line;
    std::string id = object["request_id"];
    if (object.value("type", "") != "access" || id.size() < 2 || id[1] != '-') continue;
    EXPECT_EQ(object["route"], id[0] == 'u' ? "/users/:id" : "/ping") << line;
    EXPECT_EQ(object["status"], 200) << line;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kIdClients * kIdEach)) << log.substr(0, 2000);
}

}  // namespace
