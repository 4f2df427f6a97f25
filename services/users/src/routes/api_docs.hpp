// The API's description: GET /openapi.json (the OpenAPI 3.1 document in
// services/users/openapi/, embedded at build time) and GET /docs, an HTML
// reference rendered from that same document once at start-up (descriptions
// are CommonMark, rendered by cmark). The page loads nothing from another
// host (no CDN, no script), so it works offline. Trying the calls is
// /docs/try's job (swagger_ui.hpp).
#pragma once

#include "common/blueprint.hpp"

namespace users {

class ApiDocsBlueprint : public common::Blueprint {
 public:
  ApiDocsBlueprint();
  void register_routes(common::Routes& routes) override;

 private:
  common::Response document_;
  common::Response page_;
};

// The embedded OpenAPI document's text.
std::string_view openapi_document();

}  // namespace users
