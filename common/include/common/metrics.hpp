// Prometheus metrics: requests by route template, method and status, a
// latency histogram per route, and gauges added by the app (the pool). Route
// templates only, so label values stay bounded.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "common/blueprint.hpp"
#include "common/request_observer.hpp"

namespace common {

class Metrics : public RequestObserver {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    5};

  void on_request(const RequestRecord& record) override;

  // Appends lines of Prometheus text to the output (gauges read at scrape time).
  void add_collector(std::function<void(std::string&)> collector);

  std::string render() const;

 private:
  struct Histogram {
    std::array<unsigned long long, kBuckets.size()> buckets{};
    unsigned long long count = 0;
    double sum = 0;
  };

  mutable std::mutex mutex_;
  // std::less<> lets the hot path look up with string_views: no allocation
  // once a (route, method, status) has been seen.
  std::map<std::tuple<std::string, std::string, int>, unsigned long long, std::less<>> requests_;
  std::map<std::string, Histogram, std::less<>> latency_;
  std::vector<std::function<void(std::string&)>> collectors_;
};

// GET /metrics in Prometheus text format.
class MetricsBlueprint : public Blueprint {
 public:
  explicit MetricsBlueprint(std::shared_ptr<Metrics> metrics) : metrics_(std::move(metrics)) {}
  void register_routes(Routes& routes) override;

 private:
  std::shared_ptr<Metrics> metrics_;
};

}  // namespace common
