// What the app reports about every finished request, to the access log and
// the metrics. Route is the template ("/users/:id"), never the raw path.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

namespace common {

struct RequestRecord {
  std::string_view method;
  std::string_view route;
  std::string_view path;
  int status = 0;
  std::chrono::microseconds duration{0};
  std::size_t bytes = 0;  // response body bytes
  std::string_view request_id;
};

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void on_request(const RequestRecord& record) = 0;
};

}  // namespace common
