// GET /health/live (the process answers) and GET /health/ready (it can
// serve: dependencies answer and it is not shutting down).
#pragma once

#include <functional>

#include "common/blueprint.hpp"

namespace common {

class HealthBlueprint : public Blueprint {
 public:
  // `ready` returns "" when ready, else the reason (put in the 503 body).
  explicit HealthBlueprint(std::function<std::string()> ready) : ready_(std::move(ready)) {}
  void register_routes(Routes& routes) override;

 private:
  std::function<std::string()> ready_;
};

}  // namespace common
