// Liveness and readiness probes for compose, nginx and orchestrators.
#include "common/health_blueprint.hpp"

#include "common/json_response.hpp"

namespace common {

void HealthBlueprint::register_routes(Routes& routes) {
  routes.get("/health/live", [](const Request&) { return success_message(200, "alive"); });
  routes.get("/health/ready", [this](const Request&) {
    std::string reason = ready_();
    if (!reason.empty()) throw ServiceUnavailable(reason);
    return success_message(200, "ready");
  });
}

}  // namespace common
