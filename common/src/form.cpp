// Form decoding.
#include "common/form.hpp"

#include "edge/percent_decode.hpp"

namespace common {
std::optional<std::string> url_decode(std::string_view text) {
  return edge::decode_escapes(text, true);
}

std::optional<std::map<std::string, std::string>> parse_form(std::string_view body) {
  std::map<std::string, std::string> fields;
  while (!body.empty()) {
    auto amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = url_decode(pair.substr(0, eq));
    auto value =
        url_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!key || !value) return std::nullopt;
    fields.emplace(std::move(*key), std::move(*value));
  }
  return fields;
}

}  // namespace common
