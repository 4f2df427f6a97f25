// spdlog set-up from the Config, and the access log: one line per request.
#pragma once

#include "common/config.hpp"
#include "common/request_observer.hpp"

namespace common {

// Level and format (text or JSON lines) of the default logger, on stdout.
void setup_logging(const Config& config);

class AccessLog : public RequestObserver {
 public:
  explicit AccessLog(bool json) : json_(json) {}
  void on_request(const RequestRecord& record) override;

 private:
  bool json_;
};

}  // namespace common
