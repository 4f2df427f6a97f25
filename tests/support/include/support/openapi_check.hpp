// The OpenAPI document as a test oracle: which operations it describes, and
// whether a response the tests received is one it allows (documented status,
// media type, required headers, and a JSON body valid against the schema,
// checked with valijson). Keeps the document and the service from drifting.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>

#include "support/http_client.hpp"

namespace support {

// services/users/openapi/openapi.json in this checkout.
std::string openapi_document_path();

class OpenApiCheck {
 public:
  explicit OpenApiCheck(const std::string& document_path = openapi_document_path());

  // Every (METHOD, path) the document describes, e.g. {"GET", "/users/{id}"}.
  std::set<std::pair<std::string, std::string>> operations() const;

  // "" when the document allows this response to `method` `path` (the path as
  // requested, query included); otherwise what is wrong. Paths no template
  // matches are not checked (the generic 404), nor OPTIONS (the generic 204).
  std::string check(const std::string& method, const std::string& path,
                    const HttpResponse& response) const;

  const nlohmann::json& document() const { return document_; }

 private:
  std::string validate_json(const nlohmann::json& schema, const std::string& body) const;

  nlohmann::json document_;
};

// Installs an OpenApiCheck as the http client's response hook; each mismatch
// is passed to `report` (e.g. a lambda calling ADD_FAILURE()).
void check_every_response_against_openapi(std::function<void(const std::string&)> report);

}  // namespace support
