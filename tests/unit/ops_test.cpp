// Metrics rendering and log escaping.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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
