#include "password_check.hpp"

#include <spdlog/spdlog.h>

#include "common/http.hpp"

namespace users {

void verify_password_limited(LoginLimiter& limiter, const PasswordHasher& hasher,
                             const std::string& address, const std::string& email,
                             std::string_view password, const StoredHash& stored_hash) {
  if (auto wait = limiter.count_attempt(address, email)) {
    throw common::HttpError(429, "Too many failed logins. Please try again later.",
                            {{"Retry-After", std::to_string(*wait)}});
  }
  auto stored = stored_hash();
  bool ok = false;
  if (stored) {
    ok = hasher.verify(*stored, password);
  } else {
    hasher.verify_dummy(password);
  }
  if (!ok) throw common::HttpError(401, "Invalid credentials.");
  try {
    limiter.succeeded(address, email);
  } catch (const std::exception& error) {
    // The password was right: what follows is due even if the count stays.
    spdlog::warn("login counters not reset: {}", error.what());
  }
}

}  // namespace users
