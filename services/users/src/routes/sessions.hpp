// Sessions a person can see and end: GET /auth/sessions (the caller's open
// sessions, newest first, the current one marked), DELETE /auth/sessions/{id}
// (one of the caller's; 404 for anyone else's), DELETE /auth/sessions (all but
// the current one), and an admin's GET and DELETE /users/{id}/sessions.
#pragma once

#include "../authenticator.hpp"
#include "../sessions.hpp"
#include "../user_repository.hpp"
#include "common/blueprint.hpp"

namespace users {

class SessionsBlueprint : public common::Blueprint {
 public:
  SessionsBlueprint(Sessions& sessions, UserRepository& users, const Authenticator& authenticator)
      : sessions_(sessions), users_(users), authenticator_(authenticator) {}
  void register_routes(common::Routes& routes) override;

 private:
  common::Response list_own(const common::Request& request);
  common::Response end_own(const common::Request& request);
  common::Response end_others(const common::Request& request);
  common::Response list_of_user(const common::Request& request);
  common::Response end_all_of_user(const common::Request& request);
  // The user of /users/{id}/sessions, once the caller is known to be an admin.
  long long admin_target(const common::Request& request, const Session& caller);

  Sessions& sessions_;
  UserRepository& users_;
  const Authenticator& authenticator_;
};

}  // namespace users
