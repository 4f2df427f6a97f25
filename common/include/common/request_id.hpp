// Request ids: accepted from X-Request-ID when safe, made up otherwise, and
// carried on the response and on every log line of the request.
#pragma once

#include <string>
#include <string_view>

namespace common {

// 1..128 characters of [A-Za-z0-9._:-]: nothing that could forge a log line
// or a header.
bool is_valid_request_id(std::string_view id);

// 32 lower-case hex characters from a per-thread random generator.
std::string new_request_id();

}  // namespace common
