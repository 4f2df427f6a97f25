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

// Swagger UI's files for /docs/try (services/users/swagger-ui/: npm's
// swagger-ui-dist and our initializer), keyed by their path under that folder,
// e.g. "node_modules/swagger-ui-dist/swagger-ui.css".
const std::vector<EmbeddedFile>& swagger_ui_files();

// The content of `path`; throws std::out_of_range if it was not embedded.
std::string_view embedded_file(std::string_view path);

}  // namespace users
