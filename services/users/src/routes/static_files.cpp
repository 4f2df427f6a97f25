#include "static_files.hpp"

#include "../embedded_files.hpp"

namespace users {
namespace {

constexpr std::string_view kStaticDir = "services/users/static/";

std::string content_type_for(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  return "text/plain; charset=utf-8";
}

}  // namespace

void StaticBlueprint::register_routes(common::Routes& routes) {
  for (const auto& file : embedded_files()) {
    if (file.path.rfind(kStaticDir, 0) != 0) continue;
    std::string name(file.path.substr(kStaticDir.size()));
    common::Response response;
    response.content_type = content_type_for(name);
    response.body = std::string(file.content);
    response.headers.emplace_back("Cache-Control", "public, max-age=3600");
    routes.get("/static/" + name, [response](const common::Request&) { return response; });
  }
}

}  // namespace users
