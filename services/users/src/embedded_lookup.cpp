// Lookup in the embedded files.
#include <stdexcept>
#include <string>

#include "embedded_files.hpp"

namespace users {

std::string_view embedded_file(std::string_view path) {
  for (const auto& file : embedded_files()) {
    if (file.path == path) return file.content;
  }
  throw std::out_of_range("no embedded file " + std::string(path));
}

}  // namespace users
