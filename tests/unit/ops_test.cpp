// Metrics rendering and log escaping.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "common/database.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

common::RequestRecord record(std::string_view route, int status, int micros) {
  common::RequestRecord r;
  r.method = "GET";
  r.route = route;
  r.status = status;
  r.duration = std::chrono::microseconds(micros);
  return r;
}

TEST(Metrics, CountsByRouteTemplateMethodAndStatus) {
  common::Metrics metrics;
  metrics.on_request(record("/users/:id", 200, 300));
  metrics.on_request(record("/users/:id", 200, 3000));
  metrics.on_request(record("/users/:id", 404, 100));
  auto text = metrics.render();
  EXPECT_TRUE(contains(
      text, "http_requests_total{route=\"/users/:id\",method=\"GET\",status=\"200\"} 2\n"));
  EXPECT_TRUE(contains(
      text, "http_requests_total{route=\"/users/:id\",method=\"GET\",status=\"404\"} 1\n"));
  EXPECT_TRUE(contains(
      text, "http_request_duration_seconds_bucket{route=\"/users/:id\",le=\"0.0005\"} 2\n"));
  EXPECT_TRUE(contains(
      text, "http_request_duration_seconds_bucket{route=\"/users/:id\",le=\"0.005\"} 3\n"));
  EXPECT_TRUE(
      contains(text, "http_request_duration_seconds_bucket{route=\"/users/:id\",le=\"+Inf\"} 3\n"));
  EXPECT_TRUE(contains(text, "http_request_duration_seconds_count{route=\"/users/:id\"} 3\n"));
}

TEST(Metrics, ConcurrentIncrementsFromManyThreads_SumExactly) {
  constexpr int kThreads = 6;
  constexpr int kEach = 20000;
  common::Metrics metrics;
  std::atomic<bool> done{false};
  // Scrapes while the threads count: the sums must still come out exact.
  std::thread scraper([&] {
    while (!done.load()) metrics.render();
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        metrics.on_request(record("/users/:id", i % 2 == 0 ? 200 : 404, 300));
        metrics.on_request(record(t % 2 == 0 ? "/ping" : "/users", 200, 3000));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  done.store(true);
  scraper.join();
  auto text = metrics.render();
  auto half = std::to_string(kThreads * kEach / 2);
  auto all = std::to_string(kThreads * kEach);
  EXPECT_TRUE(contains(
      text,
      "http_requests_total{route=\"/users/:id\",method=\"GET\",status=\"200\"} " + half + "\n"))
      << text;
  EXPECT_TRUE(contains(
      text,
      "http_requests_total{route=\"/users/:id\",method=\"GET\",status=\"404\"} " + half + "\n"));
  EXPECT_TRUE(contains(
      text, "http_requests_total{route=\"/ping\",method=\"GET\",status=\"200\"} " + half + "\n"));
  EXPECT_TRUE(contains(
      text, "http_requests_total{route=\"/users\",method=\"GET\",status=\"200\"} " + half + "\n"));
  EXPECT_TRUE(contains(
      text,
      "http_request_duration_seconds_bucket{route=\"/users/:id\",le=\"0.0005\"} " + all + "\n"));
  EXPECT_TRUE(
      contains(text, "http_request_duration_seconds_count{route=\"/users/:id\"} " + all + "\n"));
  EXPECT_TRUE(
      contains(text, "http_request_duration_seconds_bucket{route=\"/ping\",le=\"0.0025\"} 0\n"));
  EXPECT_TRUE(contains(
      text, "http_request_duration_seconds_bucket{route=\"/ping\",le=\"0.005\"} " + half + "\n"));
}

TEST(Metrics, TwoInstancesOnOneThread_CountApart) {
  common::Metrics first;
  {
    common::Metrics second;
    second.on_request(record("/ping", 200, 10));
    EXPECT_TRUE(contains(second.render(),
                         "http_requests_total{route=\"/ping\",method=\"GET\",status=\"200\"} 1\n"));
  }
  first.on_request(record("/ping", 200, 10));
  first.on_request(record("/ping", 200, 10));
  common::Metrics third;  // may reuse the address of the second one
  third.on_request(record("/ping", 200, 10));
  EXPECT_TRUE(contains(first.render(),
                       "http_requests_total{route=\"/ping\",method=\"GET\",status=\"200\"} 2\n"));
  EXPECT_TRUE(contains(third.render(),
                       "http_requests_total{route=\"/ping\",method=\"GET\",status=\"200\"} 1\n"));
}

TEST(Metrics, LogLinesDropped_IsExposed) {
  common::Metrics metrics;
  EXPECT_TRUE(contains(metrics.render(),
                       "# TYPE log_lines_dropped_total counter\nlog_lines_dropped_total "));
}

TEST(Metrics, CollectorsAppendAtScrapeTime) {
  common::Metrics metrics;
  int scrapes = 0;
  metrics.add_collector(
      [&](std::string& out) { out += "gauge " + std::to_string(++scrapes) + "\n"; });
  EXPECT_TRUE(contains(metrics.render(), "gauge 1\n"));
  EXPECT_TRUE(contains(metrics.render(), "gauge 2\n"));
}

TEST(Metrics, PoolLinesNameStatesAndErrors) {
  common::PoolStats stats;
  stats.in_use = 1;
  stats.idle = 3;
  stats.connect_failures = 2;
  std::string out;
  common::append_pool_metrics(stats, out);
  EXPECT_TRUE(contains(out, "db_pool_connections{state=\"in_use\"} 1\n"));
  EXPECT_TRUE(contains(out, "db_pool_connections{state=\"idle\"} 3\n"));
  EXPECT_TRUE(contains(out, "db_errors_total{kind=\"connect\"} 2\n"));
}

TEST(Logging, JsonEscape_MakesAnyTextAJsonString) {
  std::string text = "a\"b\\c\nd\te\x01";
  auto parsed = nlohmann::json::parse("\"" + common::json_escape(text) + "\"");
  EXPECT_EQ(parsed.get<std::string>(), text);
}

}  // namespace
