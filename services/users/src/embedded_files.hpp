// Text files compiled into the binaries (migrations, templates, static
// assets), keyed by their path in the repository.
#pragma once

#include <string_view>
#include <vector>

namespace users {

struct EmbeddedFile {
  std::string_view path;  // e.g. "db/migrations/0001_create_users.sql"
  std::string_view content;
};

const std::vector<EmbeddedFile>& embedded_files();

// The content of `path`; throws std::out_of_range if it was not embedded.
std::string_view embedded_file(std::string_view path);

}  // namespace users
