// Prometheus metrics: requests by route template, method and status, a
// latency histogram per route, and gauges added by the app (the pool). Route
// templates only, so label values stay bounded.
//
// Each thread that reports requests (an event loop) counts in slots of its
// own, without a lock; a scrape sums the slots of every thread.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/blueprint.hpp"
#include "common/request_observer.hpp"

namespace common {

class Metrics : public RequestObserver {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    5};

  Metrics();
  ~Metrics() override;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  void on_request(const RequestRecord& record) override;

  // Appends lines of Prometheus text to the output (gauges read at scrape time).
  void add_collector(std::function<void(std::string&)> collector);

  std::string render() const;

 private:
  struct Shard;
  Shard& local_shard();

  // Never reused, unlike an address: the key of a thread's slots for this instance.
  const unsigned long long id_;
  mutable std::mutex mutex_;  // shards_ and collectors_; never taken per request
  std::vector<std::unique_ptr<Shard>> shards_;
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
