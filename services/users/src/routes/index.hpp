// The HTML page: GET / lists the users (newest first) under a form, POST /
// adds one (Post/Redirect/Get) or shows the form again with the error.
#pragma once

#include <kainjow/mustache.hpp>
#include <mutex>

#include "../authenticator.hpp"
#include "../user_repository.hpp"
#include "common/blueprint.hpp"

namespace users {

class IndexBlueprint : public common::Blueprint {
 public:
  // With an admin_guard (REQUIRE_ADMIN_FOR_WRITES), POST / needs an admin token.
  explicit IndexBlueprint(UserRepository& repository, const Authenticator* admin_guard = nullptr);
  void register_routes(common::Routes& routes) override;

 private:
  struct Form {
    std::string username;
    std::string email;
    std::string error;
  };
  common::Response show(const common::Request& request);
  common::Response add(const common::Request& request);
  common::Response page(int status, const Form& form, const std::vector<User>* users);
  common::Response render_error(const common::Request& request, int status,
                                const std::string& message);

  UserRepository& repository_;
  const Authenticator* admin_guard_;
  std::mutex template_mutex_;  // kainjow's render() is not const
  kainjow::mustache::mustache template_;
};

}  // namespace users
