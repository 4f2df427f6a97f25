// The HTML page: GET / lists the newest users (50, newest first) under a
// form, with a link to older ones (GET /?before=ID); POST / adds one
// (Post/Redirect/Get) or shows the form again with the error.
#pragma once

#include "../authenticator.hpp"
#include "../html_template.hpp"
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
  // The newest users with id < before (all when nullopt), one page of them.
  struct Listing {
    UserRows users;
    std::optional<long long> older_before;  // set when older users exist
  };
  Listing listing(std::optional<long long> before);
  common::Response page(int status, const Form& form, const Listing* listing);
  common::Response render_error(const common::Request& request, int status,
                                const std::string& message);

  UserRepository& repository_;
  const Authenticator* admin_guard_;
  HtmlTemplate template_;
};

}  // namespace users
