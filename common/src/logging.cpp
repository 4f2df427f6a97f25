// Logging set-up and the access log line.
#include "common/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace common {

void setup_logging(const Config& config) {
  auto logger = spdlog::stdout_logger_mt("users");
  spdlog::set_default_logger(logger);
  if (config.log_format == "json") {
    // Messages are embedded as JSON strings by the formatter flag below.
    spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":%v})",
                        spdlog::pattern_time_type::utc);
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v", spdlog::pattern_time_type::utc);
  }
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  spdlog::flush_on(spdlog::level::info);
}

void AccessLog::on_request(const RequestRecord& record) {
  double ms = static_cast<double>(record.duration.count()) / 1000.0;
  if (json_) {
    nlohmann::json line = {{"type", "access"},        {"request_id", record.request_id},
                           {"method", record.method}, {"route", record.route},
                           {"status", record.status}, {"duration_ms", ms},
                           {"bytes", record.bytes}};
    spdlog::info("{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    spdlog::info("[{}] {} {} {} {:.3f}ms {}B", record.request_id, record.method, record.route,
                 record.status, ms, record.bytes);
  }
}

}  // namespace common
