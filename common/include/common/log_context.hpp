// The request id of the request this thread (or fiber) is handling, so every log line
// written while handling it carries the id (a custom spdlog flag prints it).
#pragma once

#include <string>
#include <string_view>

namespace common {

std::string_view current_request_id();  // "" outside a request
// Replaces it (the fibers keep one each and swap it in when they run).
void set_current_request_id(std::string_view request_id);

class RequestIdScope {
 public:
  explicit RequestIdScope(std::string_view request_id);
  ~RequestIdScope();
  RequestIdScope(const RequestIdScope&) = delete;
  RequestIdScope& operator=(const RequestIdScope&) = delete;
};

}  // namespace common
