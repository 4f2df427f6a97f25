// spdlog set-up from the Config, and the access log: one line per request.
// Text lines look like
//   2026-11-22T21:37:45.123Z info  [<request id>] GET /users/:id 200 0.412ms 98B
// and with LOG_FORMAT=json every line is one JSON object.
#pragma once

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
