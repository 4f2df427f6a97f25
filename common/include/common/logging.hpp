// spdlog set-up from the Config, and the access log: one line per request.
// Lines go through a bounded queue to a log thread of their own (the oldest
// dropped when it is full), so a stuck stdout never stalls a request.
// Text lines look like
//   2026-11-22T21:37:45.123Z info  [<request id>] GET /users/:id 200 0.412ms 98B
// and with LOG_FORMAT=json every line is one JSON object.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/config.hpp"
#include "common/request_observer.hpp"

namespace spdlog {
class logger;
}

namespace common {

// Level and format of the default logger, on stdout.
void setup_logging(const Config& config);

// Waits up to `limit` for every queued line to be written; false when the
// reader of stdout is stuck (the log thread cannot be joined then: exit with
// _exit). True when logging was never set up.
bool drain_logging(std::chrono::milliseconds limit);

// Lines dropped because the queue was full (log_lines_dropped_total).
unsigned long long log_lines_dropped();

// Escapes `text` for the inside of a JSON string (quotes not included).
std::string json_escape(std::string_view text);

class AccessLog : public RequestObserver {
 public:
  explicit AccessLog(bool json);
  void on_request(const RequestRecord& record) override;

 private:
  bool json_;
};

}  // namespace common
