// Settings read from a map of variables instead of the environment (each
// settings type's from_lookup), so a test never touches the real environment,
// and the variables the settings tests start from.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "common/config.hpp"

namespace settings_vars {

using Vars = std::map<std::string, std::string>;

inline const std::string kUrl = "postgresql://u@localhost:5432/users_dev";
inline const std::string kTestUrl = "postgres://u@localhost:5432/users_test";
// Production wants at least 32 bytes of signing key.
inline const std::string kProdKey = "0123456789abcdef0123456789abcdef";

// Development (unless `extra` says otherwise) with a valid DATABASE_URL plus `extra`.
inline Vars dev(Vars extra = {}) {
  extra.emplace("DATABASE_URL", kUrl);
  extra.emplace("APP_ENV", "development");
  return extra;
}

template <typename Settings>
Settings load(const Vars& vars) {
  return Settings::from_lookup([&](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

// The ConfigError's message, or "" when the variables load.
template <typename Settings>
std::string error_of(const Vars& vars) {
  try {
    load<Settings>(vars);
  } catch (const common::ConfigError& error) {
    return error.what();
  }
  return "";
}

// The variables are refused with one line that names `variable`.
template <typename Settings>
void expect_refused(const Vars& vars, const std::string& variable) {
  std::string message = error_of<Settings>(vars);
  ASSERT_FALSE(message.empty()) << variable << " was accepted";
  EXPECT_NE(message.find(variable), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
  EXPECT_EQ(message.find('\r'), std::string::npos) << "not one line: " << message;
}

}  // namespace settings_vars
