// GET /static/<file>: the page's stylesheet, embedded at build time and
// served with cache headers, so the page needs no CDN and no data directory.
#pragma once

#include "common/blueprint.hpp"

namespace users {

class StaticBlueprint : public common::Blueprint {
 public:
  void register_routes(common::Routes& routes) override;
};

}  // namespace users
