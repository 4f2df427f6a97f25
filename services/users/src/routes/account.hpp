// The life of an account: PATCH /users/{id} (a JSON Merge Patch: a user may
// change their own username, an admin also email, active and admin), DELETE
// /users/{id} (an admin, or the user themself) and POST /auth/password. Each
// change is one transaction; PATCH and DELETE honour If-Match against the
// row's version (GET /users/{id}'s ETag). Every change writes an audit line
// (who, which user, which fields; never a value) and counts in /metrics.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "../authenticator.hpp"
#include "../passwords.hpp"
#include "../user_repository.hpp"
#include "common/blueprint.hpp"
#include "common/config.hpp"

namespace users {

class AccountBlueprint : public common::Blueprint {
 public:
  // `forget_login_failures(email)`: called when a user is deleted, so that
  // the failed logins counted for their email go with them.
  AccountBlueprint(const common::Config& config, UserRepository& users, const TokenCodec& tokens,
                   const Authenticator& authenticator,
                   std::function<void(const std::string& email)> forget_login_failures);
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
  PasswordHasher hasher_;
  std::function<void(const std::string&)> forget_login_failures_;
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
