// Logging set-up and the access log line.
#include "common/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/json_response.hpp"
#include "common/log_context.hpp"

namespace common {
namespace {

thread_local std::string request_id;

// %* : the message, escaped for a JSON string.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    auto text = json_escape(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// %& : the current request id, "-" outside a request.
class RequestIdFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view id = current_request_id();
    if (id.empty()) id = "-";
    dest.append(id.data(), id.data() + id.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<RequestIdFlag>();
  }
};

std::unique_ptr<spdlog::formatter> make_formatter(const std::string& pattern) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JsonMessageFlag>('*');
  formatter->add_flag<RequestIdFlag>('&');
  formatter->set_pattern(pattern);
  return formatter;
}

// Access lines: in JSON mode their fields are top-level keys, so they go
// through a logger of their own whose pattern takes pre-built fields.
std::shared_ptr<spdlog::logger> access_logger;

}  // namespace

std::string_view current_request_id() {
  return request_id;
}

void set_current_request_id(std::string_view id) {
  request_id.assign(id);
}

RequestIdScope::RequestIdScope(std::string_view id) {
  request_id.assign(id);
}
RequestIdScope::~RequestIdScope() {
  request_id.clear();
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  append_json_escaped(out, text);
  return out;
}

void setup_logging(const Config& config) {
  bool json = config.log_format == "json";
  auto logger = spdlog::get("users");
  if (!logger) logger = spdlog::stdout_logger_mt("users");
  spdlog::set_default_logger(logger);
  access_logger = spdlog::get("users.access");
  if (!access_logger) {
    // A sink of its own: in spdlog the format belongs to the sink. Both
    // write whole lines to stdout with one fwrite, so lines never interleave.
    access_logger = spdlog::stdout_logger_mt("users.access");
  }
  const char* prefix = R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","request_id":"%&",)";
  if (json) {
    logger->set_formatter(make_formatter(std::string(prefix) + R"("message":"%*"})"));
    access_logger->set_formatter(make_formatter(std::string(prefix) + "%v}"));
  } else {
    logger->set_formatter(make_formatter("%Y-%m-%dT%H:%M:%S.%eZ %-5l [%&] %v"));
    access_logger->set_formatter(make_formatter("%Y-%m-%dT%H:%M:%S.%eZ %-5l [%&] %v"));
  }
  for (const auto& each : {logger, access_logger}) {
    each->set_level(spdlog::level::from_str(config.log_level));
    each->flush_on(spdlog::level::info);
  }
}

AccessLog::AccessLog(bool json) : json_(json) {}

void AccessLog::on_request(const RequestRecord& record) {
  spdlog::logger& logger = access_logger ? *access_logger : *spdlog::default_logger();
  if (!logger.should_log(spdlog::level::info)) return;
  double ms = static_cast<double>(record.duration.count()) / 1000.0;
  if (json_) {
    logger.info(
        R"("type":"access","method":"{}","route":"{}","status":{},"duration_ms":{:.3f},"bytes":{})",
        json_escape(record.method), json_escape(record.route), record.status, ms, record.bytes);
  } else {
    logger.info("{} {} {} {:.3f}ms {}B", record.method, record.route, record.status, ms,
                record.bytes);
  }
}

}  // namespace common
