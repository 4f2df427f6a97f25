// JSON response builders shared by every blueprint.
#include "common/json_response.hpp"

namespace common {

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

Response success_raw_data(int status, std::string_view data_json) {
  Response response;
  response.status = status;
  response.body.reserve(data_json.size() + 32);
  response.body += "{\"data\":";
  response.body += data_json;
  response.body += R"(,"status":"success"})";
  return response;
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  append_json_escaped(out, text);
  out += '"';
}

void append_json_escaped(std::string& out, std::string_view text) {
  static const char hex[] = "0123456789abcdef";
  // Runs of characters that need no escape (nearly all of them) are copied
  // whole: this is the inner loop of every page and list.
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte != '"' && byte != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (byte) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += hex[byte >> 4];
        out += hex[byte & 0xf];
    }
  }
  out.append(text.data() + run, text.size() - run);
}

Response fail(int status, const std::string& message) {
  return json_response(status, {{"status", "fail"}, {"message", message}});
}

}  // namespace common
