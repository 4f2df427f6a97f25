// The request type blueprints see.
#include "common/http.hpp"

namespace common {

std::string Request::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return {};
}

}  // namespace common
