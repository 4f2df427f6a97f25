// JSON response builders shared by every blueprint.
#include "common/json_response.hpp"

namespace common {

std::string Request::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return {};
}

Response json_response(int status, const nlohmann::json& body) {
  Response response;
  response.status = status;
  // Replace rather than throw on invalid UTF-8: a reply must always go out.
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

Response success_message(int status, const std::string& message) {
  return json_response(status, {{"status", "success"}, {"message", message}});
}

Response success_data(int status, nlohmann::json data) {
  return json_response(status, {{"status", "success"}, {"data", std::move(data)}});
}

Response fail(int status, const std::string& message) {
  return json_response(status, {{"status", "fail"}, {"message", message}});
}

}  // namespace common
