// Request counters and latency histograms, rendered for Prometheus.
#include "common/metrics.hpp"

#include <spdlog/fmt/fmt.h>

#include <map>
#include <tuple>
#include <utility>

#include "common/logging.hpp"

namespace common {
namespace {

using Counter = std::atomic<unsigned long long>;

// A slot has one writer, its thread: a plain load and store, no locked
// instruction. Release, so that a scrape that sees a bucket sees the count
// written before it.
void bump(Counter& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

std::atomic<unsigned long long> next_id{1};

}  // namespace

// One thread's slots. Its thread finds a key without a lock and takes
// `mutex` only to add one (a route, method and status seen for the first
// time); a scrape takes it to walk the maps while they cannot change.
struct Metrics::Shard {
  struct Histogram {
    std::array<Counter, kBuckets.size()> buckets{};
    Counter count{0};
    std::atomic<double> sum{0};
  };
  std::mutex mutex;
  // std::less<> lets the hot path look up with string_views: no allocation
  // once a (route, method, status) has been seen.
  std::map<std::tuple<std::string, std::string, int>, Counter, std::less<>> requests;
  std::map<std::string, Histogram, std::less<>> latency;
};

Metrics::Metrics() : id_(next_id.fetch_add(1)) {}
Metrics::~Metrics() = default;

Metrics::Shard& Metrics::local_shard() {
  // This thread's slots, by the id of their Metrics (tests run several apps
  // in one process). An entry of a Metrics gone is never matched again.
  thread_local std::vector<std::pair<unsigned long long, Shard*>> mine;
  for (const auto& [owner, shard] : mine) {
    if (owner == id_) return *shard;
  }
  auto shard = std::make_unique<Shard>();
  Shard* raw = shard.get();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shards_.push_back(std::move(shard));
  }
  mine.emplace_back(id_, raw);
  return *raw;
}

void Metrics::on_request(const RequestRecord& record) {
  double seconds = static_cast<double>(record.duration.count()) / 1e6;
  Shard& shard = local_shard();
  // Routes, methods and statuses are small bounded sets: after warm-up every
  // lookup hits and nothing is allocated.
  auto key = std::make_tuple(record.route, record.method, record.status);
  auto counter = shard.requests.find(key);
  if (counter == shard.requests.end()) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    counter = shard.requests
                  .emplace(std::make_tuple(std::string(record.route), std::string(record.method),
                                           record.status),
                           0)
                  .first;
  }
  bump(counter->second);
  auto found = shard.latency.find(record.route);
  if (found == shard.latency.end()) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    found = shard.latency.try_emplace(std::string(record.route)).first;
  }
  auto& histogram = found->second;
  bump(histogram.count);
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) bump(histogram.buckets[i]);
  }
  histogram.sum.store(histogram.sum.load(std::memory_order_relaxed) + seconds,
                      std::memory_order_relaxed);
}

void Metrics::add_collector(std::function<void(std::string&)> collector) {
  std::lock_guard<std::mutex> lock(mutex_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::render() const {
  struct Sums {
    std::array<unsigned long long, kBuckets.size()> buckets{};
    unsigned long long count = 0;
    double sum = 0;
  };
  std::map<std::tuple<std::string, std::string, int>, unsigned long long> requests;
  std::map<std::string, Sums> latency;
  std::vector<std::function<void(std::string&)>> collectors;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& shard : shards_) {
      std::lock_guard<std::mutex> shard_lock(shard->mutex);
      for (const auto& [key, count] : shard->requests) {
        requests[key] += count.load(std::memory_order_relaxed);
      }
      for (const auto& [route, histogram] : shard->latency) {
        auto& sums = latency[route];
        // Buckets before the count: the count then covers every bucket read.
        for (std::size_t i = 0; i < kBuckets.size(); ++i) {
          sums.buckets[i] += histogram.buckets[i].load(std::memory_order_acquire);
        }
        sums.count += histogram.count.load(std::memory_order_acquire);
        sums.sum += histogram.sum.load(std::memory_order_relaxed);
      }
    }
    collectors = collectors_;
  }
  std::string out;
  out += "# HELP http_requests_total Requests answered, by route template, method and status.\n";
  out += "# TYPE http_requests_total counter\n";
  for (const auto& [key, count] : requests) {
    const auto& [route, method, status] = key;
    out += fmt::format("http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                       json_escape(route), method, status, count);
  }
  out += "# HELP http_request_duration_seconds Time to handle a request, by route template.\n";
  out += "# TYPE http_request_duration_seconds histogram\n";
  for (const auto& [route, histogram] : latency) {
    std::string label = json_escape(route);
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      out += fmt::format("http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                         label, kBuckets[i], histogram.buckets[i]);
    }
    out += fmt::format("http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
                       label, histogram.count);
    out +=
        fmt::format("http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", label, histogram.sum);
    out += fmt::format("http_request_duration_seconds_count{{route=\"{}\"}} {}\n", label,
                       histogram.count);
  }
  out +=
      "# HELP log_lines_dropped_total Log lines dropped because stdout was not read fast "
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
