// Request counters and latency histograms, rendered for Prometheus.
#include "common/metrics.hpp"

#include <spdlog/fmt/fmt.h>

#include "common/logging.hpp"

namespace common {

void Metrics::on_request(const RequestRecord& record) {
  double seconds = static_cast<double>(record.duration.count()) / 1e6;
  std::lock_guard<std::mutex> lock(mutex_);
  // Routes, methods and statuses are small bounded sets: after warm-up every
  // lookup hits and nothing is allocated.
  auto key = std::make_tuple(record.route, record.method, record.status);
  auto counter = requests_.find(key);
  if (counter == requests_.end()) {
    counter = requests_
                  .emplace(std::make_tuple(std::string(record.route), std::string(record.method),
                                           record.status),
                           0)
                  .first;
  }
  ++counter->second;
  auto found = latency_.find(record.route);
  if (found == latency_.end())
    found = latency_.emplace(std::string(record.route), Histogram{}).first;
  auto& histogram = found->second;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++histogram.buckets[i];
  }
  ++histogram.count;
  histogram.sum += seconds;
}

void Metrics::add_collector(std::function<void(std::string&)> collector) {
  std::lock_guard<std::mutex> lock(mutex_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::render() const {
  std::string out;
  std::vector<std::function<void(std::string&)>> collectors;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    out += "# HELP http_requests_total Requests answered, by route template, method and status.\n";
    out += "# TYPE http_requests_total counter\n";
    for (const auto& [key, count] : requests_) {
      const auto& [route, method, status] = key;
      out += fmt::format("http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                         json_escape(route), method, status, count);
    }
    out += "# HELP http_request_duration_seconds Time to handle a request, by route template.\n";
    out += "# TYPE http_request_duration_seconds histogram\n";
    for (const auto& [route, histogram] : latency_) {
      std::string label = json_escape(route);
      for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        out += fmt::format("http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                           label, kBuckets[i], histogram.buckets[i]);
      }
      out += fmt::format("http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
                         label, histogram.count);
      out += fmt::format("http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", label,
                         histogram.sum);
      out += fmt::format("http_request_duration_seconds_count{{route=\"{}\"}} {}\n", label,
                         histogram.count);
    }
    collectors = collectors_;
  }
  out += "# HELP log_lines_dropped_total Log lines dropped because stdout was not read fast "
         "enough.\n";
  out += "# TYPE log_lines_dropped_total counter\n";
  out += fmt::format("log_lines_dropped_total {}\n", log_lines_dropped());
  for (const auto& collect : collectors) collect(out);
  return out;
}

void MetricsBlueprint::register_routes(Routes& routes) {
  routes.get("/metrics", [metrics = metrics_](const Request&) {
    Response response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = metrics->render();
    return response;
  });
}

}  // namespace common
