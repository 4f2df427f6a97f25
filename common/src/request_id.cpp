// Request id validation and generation.
#include "common/request_id.hpp"

#include <random>

namespace common {

bool is_valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::string new_request_id() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static const char digits[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int half = 0; half < 2; ++half) {
    auto bits = generator();
    for (int i = 0; i < 16; ++i) {
      id[half * 16 + i] = digits[bits & 0xf];
      bits >>= 4;
    }
  }
  return id;
}

}  // namespace common
