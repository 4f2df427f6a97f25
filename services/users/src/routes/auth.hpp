// The auth API: POST /auth/register, POST /auth/login, GET /auth/status,
// GET /auth/logout, POST /auth/password, and the ways back into an account
// (POST /auth/password/forgot, /auth/password/reset, /auth/verify,
// /auth/verify/resend: account_recovery.hpp's rules as JSON). Hashing is slow by design: it
// runs off the event loop (PasswordHasher) while the request's fiber waits.
#pragma once

#include "../account_changes.hpp"
#include "../account_recovery.hpp"
#include "../authenticator.hpp"
#include "../login_limiter.hpp"
#include "../passwords.hpp"
#include "../users_config.hpp"
#include "common/blueprint.hpp"
#include "common/client_address.hpp"
#include "common/config.hpp"

namespace users {

class AuthBlueprint : public common::Blueprint {
 public:
  AuthBlueprint(const UsersConfig& config, UserRepository& users, RevokedTokens& revoked,
                const TokenCodec& tokens, const Authenticator& authenticator,
                const PasswordHasher& hasher, LoginLimiter& limiter, AccountChanges& changes,
                AccountRecovery& recovery);
  void register_routes(common::Routes& routes) override;

 private:
  common::Response register_user(const common::Request& request);
  common::Response login(const common::Request& request);
  common::Response status(const common::Request& request);
  common::Response logout(const common::Request& request);
  common::Response change_password(const common::Request& request);
  common::Response forgot_password(const common::Request& request);
  common::Response reset_password(const common::Request& request);
  common::Response verify_email(const common::Request& request);
  common::Response resend_verification(const common::Request& request);

  UserRepository& users_;
  RevokedTokens& revoked_;
  const TokenCodec& tokens_;
  const Authenticator& authenticator_;
  const PasswordHasher& hasher_;
  LoginLimiter& limiter_;
  AccountChanges& changes_;
  AccountRecovery& recovery_;
  common::AddressSet trusted_proxies_;
  bool require_verified_email_;
};

}  // namespace users
