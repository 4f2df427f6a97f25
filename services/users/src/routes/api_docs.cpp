#include "api_docs.hpp"

#include <kainjow/mustache.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "../embedded_files.hpp"
#include "../markdown.hpp"
#include "common/text.hpp"

namespace users {
namespace {

using nlohmann::ordered_json;
using View = kainjow::mustache::data;

constexpr const char* kDocument = "services/users/openapi/openapi.json";
constexpr const char* kTemplate = "services/users/templates/docs.mustache";
const char* const kMethods[] = {"get", "post", "put", "patch", "delete"};

// A "$ref": "#/components/..." replaced by what it points at (one level: the
// document's refs point at components that are not refs themselves).
const ordered_json& resolve(const ordered_json& document, const ordered_json& node) {
  if (!node.is_object() || !node.contains("$ref")) return node;
  return document.at(ordered_json::json_pointer(node["$ref"].get<std::string>().substr(1)));
}

std::string text(const ordered_json& node, const char* key) {
  return node.contains(key) && node[key].is_string() ? node[key].get<std::string>() : "";
}

// A description field: CommonMark by the OpenAPI specification, so rendered
// (safely: cmark drops raw HTML) rather than shown with its backticks.
std::string described(const ordered_json& node, const char* key) {
  std::string markdown = text(node, key);
  return markdown.empty() ? "" : markdown_to_html(markdown);
}

std::string security_text(const ordered_json& document, const ordered_json& operation) {
  const ordered_json& security =
      operation.contains("security") ? operation["security"] : document["security"];
  bool open = security.empty();
  bool bearer = false;
  for (const auto& requirement : security) {
    if (requirement.empty()) open = true;
    if (requirement.contains("bearerAuth")) bearer = true;
  }
  if (bearer && open) return "Authentication: optional bearer token (see the description).";
  if (bearer) return "Authentication: bearer token required.";
  return "Authentication: none.";
}

View media_examples(const ordered_json& media) {
  View list{View::type::list};
  auto add = [&list](const ordered_json& value) {
    View item;
    item.set("example", value.is_string() ? value.get<std::string>() : value.dump(2));
    list.push_back(item);
  };
  if (media.contains("example")) add(media["example"]);
  if (media.contains("examples")) {
    for (const auto& [name, example] : media["examples"].items()) add(example["value"]);
  }
  return list;
}

View response_view(const ordered_json& document, const std::string& status,
                   const ordered_json& raw) {
  const ordered_json& response = resolve(document, raw);
  View view;
  view.set("status", status);
  view.set("response_description", described(response, "description"));
  View examples{View::type::list};
  bool has_media = response.contains("content") && !response["content"].empty();
  if (has_media) {
    auto first = response["content"].begin();
    view.set("media", first.key());
    examples = media_examples(first.value());
  }
  view.set("has_media", has_media);
  view.set("examples", examples);
  std::string headers;
  if (response.contains("headers")) {
    for (const auto& [name, header] : response["headers"].items()) {
      headers += (headers.empty() ? "" : ", ") + name;
    }
  }
  view.set("has_headers", !headers.empty());
  view.set("headers", headers);
  return view;
}

View operation_view(const ordered_json& document, const std::string& path,
                    const std::string& method, const ordered_json& operation) {
  View view;
  view.set("method", common::to_upper(method));
  view.set("path", path);
  view.set("anchor", text(operation, "operationId"));
  view.set("op_summary", text(operation, "summary"));
  view.set("op_description", described(operation, "description"));
  view.set("has_op_description", !text(operation, "description").empty());
  view.set("security", security_text(document, operation));

  View parameters{View::type::list};
  if (operation.contains("parameters")) {
    for (const auto& raw : operation["parameters"]) {
      const auto& parameter = resolve(document, raw);
      View item;
      item.set("name", text(parameter, "name"));
      item.set("in", text(parameter, "in"));
      item.set("param_description", described(parameter, "description"));
      parameters.push_back(item);
    }
  }
  view.set("has_parameters", operation.contains("parameters"));
  view.set("parameters", parameters);

  bool has_request = operation.contains("requestBody");
  view.set("has_request", has_request);
  if (has_request) {
    const auto& content = resolve(document, operation["requestBody"])["content"];
    auto first = content.begin();
    view.set("request_media", first.key());
    view.set("request_schema", resolve(document, first.value()["schema"]).dump(2));
    bool has_example = first.value().contains("example");
    view.set("has_request_example", has_example);
    view.set("request_example", has_example ? first.value()["example"].dump(2) : "");
  }

  View responses{View::type::list};
  for (const auto& [status, response] : operation["responses"].items()) {
    responses.push_back(response_view(document, status, response));
  }
  view.set("responses", responses);
  return view;
}

std::string render_page(const ordered_json& document) {
  kainjow::mustache::mustache page{std::string(embedded_file(kTemplate))};
  if (!page.is_valid()) throw std::runtime_error("docs template: " + page.error_message());
  const auto& info = document["info"];
  View view;
  view.set("title", text(info, "title"));
  view.set("version", text(info, "version"));
  view.set("summary", text(info, "summary"));
  view.set("info_description", described(info, "description"));
  view.set("openapi", text(document, "openapi"));

  View operations{View::type::list};
  for (const auto& [path, item] : document["paths"].items()) {
    for (const char* method : kMethods) {
      if (item.contains(method))
        operations.push_back(operation_view(document, path, method, item[method]));
    }
  }
  view.set("operations", operations);

  View schemas{View::type::list};
  for (const auto& [name, schema] : document["components"]["schemas"].items()) {
    View item;
    item.set("name", name);
    item.set("schema", schema.dump(2));
    schemas.push_back(item);
  }
  view.set("schemas", schemas);
  View schemes{View::type::list};
  for (const auto& [name, scheme] : document["components"]["securitySchemes"].items()) {
    View item;
    item.set("name", name);
    item.set("scheme_description", described(scheme, "description"));
    schemes.push_back(item);
  }
  view.set("security_schemes", schemes);
  return page.render(view);
}

}  // namespace

std::string_view openapi_document() {
  return embedded_file(kDocument);
}

ApiDocsBlueprint::ApiDocsBlueprint() {
  document_.body = std::string(openapi_document());
  document_.content_type = "application/json";
  auto parsed = ordered_json::parse(document_.body);  // a broken document fails start-up
  page_.body = render_page(parsed);
  page_.content_type = "text/html; charset=utf-8";
}

void ApiDocsBlueprint::register_routes(common::Routes& routes) {
  routes.get("/openapi.json", [this](const common::Request&) { return document_; })
      .get("/docs", [this](const common::Request&) { return page_; });
}

}  // namespace users
