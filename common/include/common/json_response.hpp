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

// {"data":<data_json>,"status":"success"} around JSON the caller already
// serialised (the hot read paths build it without a DOM).
Response success_raw_data(int status, std::string_view data_json);

// Appends `text` as a JSON string literal (quoted, escaped like nlohmann's
// dump: UTF-8 kept, control characters, quote and backslash escaped).
void append_json_string(std::string& out, std::string_view text);
// The same without the quotes.
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace common
