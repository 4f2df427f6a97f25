// GET /ping: the sanity check, {"status":"success","message":"pong!"}.
#pragma once

#include "common/blueprint.hpp"

namespace users {

class PingBlueprint : public common::Blueprint {
 public:
  void register_routes(common::Routes& routes) override;
};

}  // namespace users
