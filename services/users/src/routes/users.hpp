// The users JSON API: POST /users, GET /users, GET /users/{id}.
#pragma once

#include "../user_repository.hpp"
#include "common/blueprint.hpp"

namespace users {

class UsersBlueprint : public common::Blueprint {
 public:
  explicit UsersBlueprint(UserRepository& repository) : repository_(repository) {}
  void register_routes(common::Routes& routes) override;

 private:
  common::Response add_user(const common::Request& request);
  common::Response get_user(const common::Request& request);
  common::Response list_users(const common::Request& request);

  UserRepository& repository_;
};

}  // namespace users
