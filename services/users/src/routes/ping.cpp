#include "ping.hpp"

#include "common/json_response.hpp"

namespace users {

void PingBlueprint::register_routes(common::Routes& routes) {
  // Built once: /ping is the hottest, simplest route.
  static const common::Response pong = common::success_message(200, "pong!");
  routes.get("/ping", [](const common::Request&) { return pong; });
}

}  // namespace users
