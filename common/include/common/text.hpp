// The small text helpers every layer needs: ASCII case (HTTP's names and
// tokens are ASCII, and no locale may change how they compare), trimming,
// and the request methods HTTP defines.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace common {

// HTTP's optional whitespace (RFC 9110 5.6.3): space and horizontal tab.
inline constexpr std::string_view kOptionalWhitespace = " \t";

std::string to_lower(std::string_view text);  // ASCII letters only
std::string to_upper(std::string_view text);  // ASCII letters only
// Equal but for the case of ASCII letters (header names, schemes).
bool iequals(std::string_view a, std::string_view b);

// `text` without the leading and trailing characters found in `chars`.
std::string_view trim(std::string_view text, std::string_view chars = kOptionalWhitespace);
// `text` without the trailing ones only.
std::string_view trim_end(std::string_view text, std::string_view chars = kOptionalWhitespace);

// The request methods HTTP defines (RFC 9110 9.3, RFC 5789), in the order an
// Allow field lists them.
inline constexpr std::array<std::string_view, 9> kHttpMethods = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"};
bool is_http_method(std::string_view method);

}  // namespace common
