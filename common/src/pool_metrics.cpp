// The pool's counters in the Prometheus text format (common/database.hpp).
#include <string>

#include "common/database.hpp"

namespace common {

void append_pool_metrics(const PoolStats& stats, std::string& out) {
  out += "# HELP db_pool_connections Database connections by state.\n";
  out += "# TYPE db_pool_connections gauge\n";
  out += "db_pool_connections{state=\"in_use\"} " + std::to_string(stats.in_use) + "\n";
  out += "db_pool_connections{state=\"idle\"} " + std::to_string(stats.idle) + "\n";
  out += "# HELP db_pool_waiting Requests waiting for a connection.\n";
  out += "# TYPE db_pool_waiting gauge\n";
  out += "db_pool_waiting " + std::to_string(stats.waiting) + "\n";
  out += "# HELP db_errors_total Database failures by kind.\n";
  out += "# TYPE db_errors_total counter\n";
  out += "db_errors_total{kind=\"connect\"} " + std::to_string(stats.connect_failures) + "\n";
  out += "db_errors_total{kind=\"broken\"} " + std::to_string(stats.broken_connections) + "\n";
  out += "db_errors_total{kind=\"timeout\"} " + std::to_string(stats.timeouts) + "\n";
  out += "db_errors_total{kind=\"no_answer\"} " + std::to_string(stats.abandoned) + "\n";
  out += "# HELP db_calls_total Batches sent for (one statement or one transaction each).\n";
  out += "# TYPE db_calls_total counter\n";
  out += "db_calls_total " + std::to_string(stats.calls) + "\n";
}

}  // namespace common
