// Route collection for blueprints.
#include "common/blueprint.hpp"

#include "common/json_response.hpp"

namespace common {

Response json_error(const Request&, int status, const std::string& message) {
  return fail(status, message);
}

Routes& Routes::add(const std::string& method, const std::string& path, Handler handler) {
  std::string full = prefix_ + path;
  if (full.size() > 1 && full.back() == '/') full.pop_back();
  if (full.empty()) full = "/";
  routes_.push_back(Route{method, full, std::move(handler), render_error_});
  return *this;
}

Routes& Routes::on_error(ErrorRenderer renderer) {
  render_error_ = std::move(renderer);
  return *this;
}

}  // namespace common
