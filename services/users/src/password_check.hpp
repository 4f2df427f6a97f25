// The security-sensitive sequence every password check of a client goes
// through (POST /auth/login, POST /auth/password), written once.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "login_limiter.hpp"
#include "passwords.hpp"

namespace users {

// The stored hash to check against, read only once the attempt is counted
// (a refused attempt costs no lookup); nullopt when there is none (no such
// user, or a user made before passwords).
using StoredHash = std::function<std::optional<std::string>()>;

// Counts the attempt of `address` and `email` (429 with Retry-After once
// either has used up its attempts), verifies `password` against the stored
// hash, or a dummy one when there is none so that both cost one verification
// and answer the same 401 "Invalid credentials.", and on success gives the
// attempt back (a failure to do so is logged: the password was right).
void verify_password_limited(LoginLimiter& limiter, const PasswordHasher& hasher,
                             const std::string& address, const std::string& email,
                             std::string_view password, const StoredHash& stored_hash);

}  // namespace users
