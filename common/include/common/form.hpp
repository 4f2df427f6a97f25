// application/x-www-form-urlencoded bodies, as HTML forms send them.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace common {

// Decodes "a=1&b=x+y%21"; nullopt on a malformed percent escape. A repeated
// key keeps its first value.
std::optional<std::map<std::string, std::string>> parse_form(std::string_view body);

std::optional<std::string> url_decode(std::string_view text);

}  // namespace common
