// The auth API: POST /auth/register, POST /auth/login, GET /auth/status,
// GET /auth/logout, POST /auth/password and POST /auth/refresh. Register,
// login and a password change answer a session's pair of tokens
// (SessionTokens); logout ends the caller's session. Hashing is slow by
// design: it runs off the event loop (PasswordHasher) while the request's
// fiber waits.
#pragma once

#include "../account_changes.hpp"
#include "../authenticator.hpp"
#include "../login_limiter.hpp"
#include "../passwords.hpp"
#include "../session_tokens.hpp"
#include "common/blueprint.hpp"
#include "common/client_address.hpp"
#include "common/config.hpp"

namespace users {

class AuthBlueprint : public common::Blueprint {
 public:
  AuthBlueprint(const common::Config& config, UserRepository& users, Sessions& sessions,
                SessionTokens& session_tokens, const Authenticator& authenticator,
                const PasswordHasher& hasher, LoginLimiter& limiter, AccountChanges& changes);
  void register_routes(common::Routes& routes) override;

 private:
  common::Response register_user(const common::Request& request);
  common::Response login(const common::Request& request);
  common::Response status(const common::Request& request);
  common::Response logout(const common::Request& request);
  common::Response change_password(const common::Request& request);
  common::Response refresh(const common::Request& request);

  UserRepository& users_;
  Sessions& sessions_;
  SessionTokens& session_tokens_;
  const Authenticator& authenticator_;
  const PasswordHasher& hasher_;
  LoginLimiter& limiter_;
  AccountChanges& changes_;
  common::AddressSet trusted_proxies_;
};

}  // namespace users
