// GET /docs/try: Swagger UI, where a person tries each call of the API from
// the browser, pointed at this service's /openapi.json. Swagger UI's files
// (npm's swagger-ui-dist, pinned in services/users/swagger-ui/) and its
// initializer are compiled in and served under /docs/try/, so the page loads
// nothing from another host and needs no inline script.
#pragma once

#include <map>
#include <string>

#include "common/blueprint.hpp"

namespace users {

class SwaggerUiBlueprint : public common::Blueprint {
 public:
  SwaggerUiBlueprint();
  void register_routes(common::Routes& routes) override;

 private:
  common::Response page_;
  std::map<std::string, common::Response, std::less<>> assets_;  // by file name
};

}  // namespace users
