// Builders for the service's JSON bodies: {"status": ..., "message"/"data": ...}.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/http.hpp"

namespace common {

Response json_response(int status, const nlohmann::json& body);
Response success_message(int status, const std::string& message);
Response success_data(int status, nlohmann::json data);
Response fail(int status, const std::string& message);

}  // namespace common
