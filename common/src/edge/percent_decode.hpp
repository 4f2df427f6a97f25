// Internal: percent-decoding of request-target parts (RFC 3986 2.1).
// Pistache 0.0.5 hands path parameters over exactly as sent, so "/users/%31"
// would reach a handler as "%31" rather than "1".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace common::edge {

// The decoded text; nullopt when an escape is malformed ("%zz", a lone "%")
// or the result holds a control character (NUL, CR, LF, DEL, ...), which no
// path may carry.
std::optional<std::string> percent_decode(std::string_view text);

// The escapes decoded and nothing refused but a malformed escape; with
// `plus_is_space`, "+" is a space (form bodies, common/form.hpp).
std::optional<std::string> decode_escapes(std::string_view text, bool plus_is_space);

}  // namespace common::edge
