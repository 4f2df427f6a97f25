#include "swagger_ui.hpp"

#include <cstdint>
#include <cstdio>
#include <kainjow/mustache.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "../embedded_files.hpp"
#include "api_docs.hpp"

namespace users {
namespace {

constexpr const char* kTemplate = "services/users/templates/docs_try.mustache";

// The page's own Content-Security-Policy, the prod one relaxed as little as
// Swagger UI needs: scripts and fetch() from this origin only (no inline
// script, no eval), data: images (its stylesheet's icons, the empty favicon).
// nginx/prod.conf.template sends the same for /docs/try.
constexpr const char* kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

// Each embedded file's name in the page template: an unexpected file stops
// start-up.
std::string page_key(std::string_view name) {
  if (name == "swagger-ui.css") return "css";
  if (name == "swagger-ui-bundle.js") return "bundle";
  if (name == "swagger-initializer.js") return "initializer";
  throw std::out_of_range("Swagger UI: no place in the page for " + std::string(name));
}

std::string content_type_for(std::string_view name) {
  if (name.size() >= 4 && name.substr(name.size() - 4) == ".css") return "text/css; charset=utf-8";
  return "text/javascript; charset=utf-8";
}

// FNV-1a of the content, in hex: the `?v=` of an asset's URL in the page, so
// a new build's page never meets an old build's file in a cache.
std::string version_of(std::string_view content) {
  std::uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : content) hash = (hash ^ c) * 1099511628211ULL;
  char hex[17];
  (void)std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

}  // namespace

SwaggerUiBlueprint::SwaggerUiBlueprint() {
  kainjow::mustache::data view;
  for (const auto& file : swagger_ui_files()) {
    auto slash = file.path.rfind('/');
    std::string name(slash == std::string_view::npos ? file.path : file.path.substr(slash + 1));
    common::Response asset;
    asset.content_type = content_type_for(name);
    asset.body = std::string(file.content);
    // The page names each file with its version, so a day in a cache is safe.
    asset.headers.emplace_back("Cache-Control", "public, max-age=86400");
    view.set(page_key(name), "/docs/try/" + name + "?v=" + version_of(file.content));
    assets_.emplace(std::move(name), std::move(asset));
  }
  auto document = nlohmann::json::parse(openapi_document());
  view.set("title", document["info"]["title"].get<std::string>());
  kainjow::mustache::mustache page{std::string(embedded_file(kTemplate))};
  if (!page.is_valid()) throw std::runtime_error("docs_try template: " + page.error_message());
  page_.body = page.render(view);
  page_.content_type = "text/html; charset=utf-8";
  // Small, and it names the current files: always asked for again.
  page_.headers.emplace_back("Cache-Control", "no-cache");
  page_.headers.emplace_back("Content-Security-Policy", kPolicy);
}

void SwaggerUiBlueprint::register_routes(common::Routes& routes) {
  routes.get("/docs/try", [this](const common::Request&) { return page_; })
      .get("/docs/try/:file", [this](const common::Request& request) {
        auto asset = assets_.find(request.param("file"));
        if (asset == assets_.end()) throw common::HttpError(404, "Resource not found.");
        return asset->second;
      });
}

}  // namespace users
