// The checks every setting goes through, shared by the server's Config and
// the services' own settings so each variable is refused the same way, with
// one line that names it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace common::env {

// The variable's value; unset and set-but-empty are both "not given".
std::optional<std::string> non_empty(const Config::Lookup& lookup, const std::string& name);

// A value as it may appear in a one-line error: control characters (a line
// break would split the message) shown as '?', long values cut.
std::string shown(const std::string& value);

// An integer in [min, max], or a ConfigError naming `name`.
long long parse_int(const std::string& name, const std::string& text, long long min, long long max);

// true/1 or false/0, or a ConfigError naming `name`.
bool parse_bool(const std::string& name, const std::string& text);

// A comma-separated list, items trimmed, empty items dropped.
std::vector<std::string> split_list(const std::string& text);

}  // namespace common::env
