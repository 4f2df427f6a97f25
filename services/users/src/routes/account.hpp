// The life of an account: PATCH /users/{id} (a JSON Merge Patch: a user may
// change their own username, an admin also email, active and admin), DELETE
// /users/{id} (an admin, or the user themself) and POST /auth/password. Each
// change is one transaction; PATCH and DELETE honour If-Match against the
// row's version (GET /users/{id}'s ETag). The last active admin cannot be
// demoted, deactivated or deleted (409); who asks is checked again inside
// the change's transaction (see UserRepository::update). Every change writes
// an audit line (who, which user, which fields; never a value) and counts in
// /metrics.
#pragma once

#include <atomic>
#include <string>

#include "../authenticator.hpp"
#include "../login_limiter.hpp"
#include "../passwords.hpp"
#include "../user_repository.hpp"
#include "common/blueprint.hpp"
#include "common/client_address.hpp"
#include "common/config.hpp"

namespace users {

class AccountBlueprint : public common::Blueprint {
 public:
  // `limiter`: a password change counts its check as a login attempt, and a
  // deleted user's login counters go with them.
  AccountBlueprint(const common::Config& config, UserRepository& users, const TokenCodec& tokens,
                   const Authenticator& authenticator, const PasswordHasher& hasher,
                   LoginLimiter& limiter);
  void register_routes(common::Routes& routes) override;

  // account_changes_total{action} in Prometheus text.
  void append_metrics(std::string& out) const;

 private:
  common::Response update_user(const common::Request& request);
  common::Response delete_user(const common::Request& request);
  common::Response change_password(const common::Request& request);

  UserRepository& users_;
  const TokenCodec& tokens_;
  const Authenticator& authenticator_;
  const PasswordHasher& hasher_;
  LoginLimiter& limiter_;
  common::AddressSet trusted_proxies_;
  std::atomic<unsigned long long> updates_{0};
  std::atomic<unsigned long long> deactivations_{0};
  std::atomic<unsigned long long> deletions_{0};
  std::atomic<unsigned long long> password_changes_{0};
};

// The versions of user `id` that an If-Match field accepts: nullopt when the
// field is absent or "*"; only strong tags of this user count (a malformed
// field accepts none, so the change answers 412).
ExpectedVersions expected_versions(const std::string& if_match, long long id);

}  // namespace users
