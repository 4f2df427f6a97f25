// The users resource: the collection, POST /users and GET /users (all, or a
// page with ?limit=N&after=ID), and each user, GET /users/{id}, PATCH
// /users/{id} (a JSON Merge Patch: a user may change their own username, an
// admin also email, active and admin) and DELETE /users/{id} (an admin, or
// the user themself). GET answers a strong ETag of the row's version; PATCH
// and DELETE honour If-Match against it. Each change is one transaction; the
// last active admin cannot be demoted, deactivated or deleted (409); who
// asks is checked again inside the change's transaction (see
// UserRepository::update). Every change is recorded (AccountChanges).
// A new email is unverified and gets a verification mail (AccountRecovery),
// written in the change's transaction; answers to an admin's token (PATCH,
// the GETs) show email_verified, public reads keep the seed's shape.
#pragma once

#include "../account_changes.hpp"
#include "../account_recovery.hpp"
#include "../authenticator.hpp"
#include "../login_limiter.hpp"
#include "../user_repository.hpp"
#include "common/blueprint.hpp"

namespace users {

class UsersBlueprint : public common::Blueprint {
 public:
  // With an admin_guard (REQUIRE_ADMIN_FOR_WRITES), POST /users needs an admin
  // token; with a read_guard (REQUIRE_AUTH_FOR_READS), the GETs need a valid
  // one. PATCH and DELETE always go through `authenticator`; a deleted user's
  // login counters go with them (`limiter`).
  UsersBlueprint(UserRepository& repository, const Authenticator& authenticator,
                 LoginLimiter& limiter, AccountChanges& changes, const AccountRecovery& recovery,
                 const Authenticator* admin_guard = nullptr,
                 const Authenticator* read_guard = nullptr)
      : repository_(repository),
        authenticator_(authenticator),
        limiter_(limiter),
        changes_(changes),
        recovery_(recovery),
        admin_guard_(admin_guard),
        read_guard_(read_guard) {}
  void register_routes(common::Routes& routes) override;

 private:
  common::Response add_user(const common::Request& request);
  common::Response list_users(const common::Request& request);
  // `admin`: the rows as an admin sees them (with email_verified).
  common::Response list_all_users(bool admin);
  common::Response list_page(std::string_view query, bool admin);
  common::Response get_user(const common::Request& request);
  bool read_by_admin(const common::Request& request) const;
  common::Response update_user(const common::Request& request);
  common::Response delete_user(const common::Request& request);

  UserRepository& repository_;
  const Authenticator& authenticator_;
  LoginLimiter& limiter_;
  AccountChanges& changes_;
  const AccountRecovery& recovery_;
  const Authenticator* admin_guard_;
  const Authenticator* read_guard_;
};

// The versions of user `id` that an If-Match field accepts: nullopt when the
// field is absent or "*"; only strong tags of this user count (a malformed
// field accepts none, so the change answers 412).
ExpectedVersions expected_versions(const std::string& if_match, long long id);

}  // namespace users
