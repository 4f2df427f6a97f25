// The users JSON API: POST /users, GET /users (all, or a page with
// ?limit=N&after=ID), GET /users/{id}.
#pragma once

#include "../authenticator.hpp"
#include "../user_repository.hpp"
#include "common/blueprint.hpp"

namespace users {

class UsersBlueprint : public common::Blueprint {
 public:
  // With an admin_guard (REQUIRE_ADMIN_FOR_WRITES), POST /users needs an admin
  // token; with a read_guard (REQUIRE_AUTH_FOR_READS), the GETs need a valid one.
  explicit UsersBlueprint(UserRepository& repository, const Authenticator* admin_guard = nullptr,
                          const Authenticator* read_guard = nullptr)
      : repository_(repository), admin_guard_(admin_guard), read_guard_(read_guard) {}
  void register_routes(common::Routes& routes) override;

 private:
  common::Response add_user(const common::Request& request);
  common::Response get_user(const common::Request& request);
  common::Response list_users(const common::Request& request);
  common::Response list_all_users();
  common::Response list_page(std::string_view query);

  UserRepository& repository_;
  const Authenticator* admin_guard_;
  const Authenticator* read_guard_;
};

}  // namespace users
