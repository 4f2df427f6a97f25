// Responses checked against the OpenAPI document with valijson.
#include "support/openapi_check.hpp"

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace support {
namespace {

using nlohmann::json;

const char* const kMethods[] = {"get", "post", "put", "patch", "delete"};

std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 1;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool matches(const std::string& templ, const std::string& path) {
  if (templ == path) return true;
  auto t = segments(templ);
  auto p = segments(path);
  if (t.size() != p.size()) return false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    bool parameter = t[i].size() > 2 && t[i].front() == '{' && t[i].back() == '}';
    if (parameter ? p[i].empty() : t[i] != p[i]) return false;
  }
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string media_type(const std::string& content_type) {
  std::string media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  return lower(media);
}

// `node` with every "$ref": "#/..." replaced by its target (the document's
// schemas are not recursive).
json inline_refs(const json& document, const json& node) {
  if (node.is_object()) {
    if (node.contains("$ref")) {
      auto pointer = node["$ref"].get<std::string>().substr(1);
      return inline_refs(document, document.at(json::json_pointer(pointer)));
    }
    json out = json::object();
    for (const auto& [key, value] : node.items()) out[key] = inline_refs(document, value);
    return out;
  }
  if (node.is_array()) {
    json out = json::array();
    for (const auto& value : node) out.push_back(inline_refs(document, value));
    return out;
  }
  return node;
}

// What any route may answer without the document listing it per operation
// (the server's own refusals, described once in info.description).
bool is_generic_refusal(int status, const std::string& body) {
  auto parsed = json::parse(body, nullptr, false);
  std::string message = parsed.is_object() ? parsed.value("message", "") : "";
  return (status == 400 && message == "Malformed HTTP request.") ||
         (status == 413 && message == "Request body too large.") || (status == 408);
}

}  // namespace

std::string openapi_document_path() {
  return std::string(USERS_PROJECT_ROOT) + "/services/users/openapi/openapi.json";
}

OpenApiCheck::OpenApiCheck(const std::string& document_path) {
  std::ifstream file(document_path);
  if (!file) throw std::runtime_error("cannot read " + document_path);
  std::stringstream text;
  text << file.rdbuf();
  document_ = json::parse(text.str());
}

std::set<std::pair<std::string, std::string>> OpenApiCheck::operations() const {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& [path, item] : document_["paths"].items()) {
    for (const char* method : kMethods) {
      if (item.contains(method)) {
        std::string upper = method;
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        out.emplace(upper, path);
      }
    }
  }
  return out;
}

std::string OpenApiCheck::validate_json(const json& schema_json, const std::string& body) const {
  auto target = json::parse(body, nullptr, false);
  if (target.is_discarded()) return "body is not JSON: " + body.substr(0, 200);
  json schema_inlined = inline_refs(document_, schema_json);
  valijson::Schema schema;
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
  valijson::adapters::NlohmannJsonAdapter schema_adapter(schema_inlined);
  parser.populateSchema(schema_adapter, schema);
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target_adapter(target);
  if (validator.validate(schema, target_adapter, &results)) return "";
  std::string why = "body does not match the schema:";
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    std::string where;
    for (const auto& part : error.context) where += part;
    why += " [" + where + "] " + error.description + ";";
  }
  return why + " body: " + body.substr(0, 300);
}

std::string OpenApiCheck::check(const std::string& method, const std::string& raw_path,
                                const HttpResponse& response) const {
  std::string path = raw_path.substr(0, raw_path.find('?'));
  if (method == "OPTIONS") return "";
  std::string name = method + " " + raw_path + " -> " + std::to_string(response.status);
  const json* item = nullptr;
  std::string templ;
  for (const auto& [candidate, value] : document_["paths"].items()) {
    if (matches(candidate, path)) {
      item = &value;
      templ = candidate;
      if (candidate == path) break;  // a literal path wins over a template
    }
  }
  if (!item) return "";
  bool head = method == "HEAD";
  std::string key = head ? "get" : lower(method);
  const std::string& body = response.body;
  if (!item->contains(key)) {
    if (response.status != 405) return name + ": " + templ + " has no " + method;
    return validate_json(document_["components"]["schemas"]["Error"], body).empty()
               ? ""
               : name + ": 405 body is not an Error";
  }
  const json& responses = (*item)[key]["responses"];
  std::string status = std::to_string(response.status);
  if (!responses.contains(status)) {
    if (is_generic_refusal(response.status, body)) return "";
    return name + ": status " + status + " is not documented for " + method + " " + templ;
  }
  json described = inline_refs(document_, responses[status]);
  if (described.contains("headers")) {
    for (const auto& [header, spec] : described["headers"].items()) {
      if (spec.value("required", false) && !response.has_header(header)) {
        return name + ": required header " + header + " is missing";
      }
    }
  }
  if (!described.contains("content")) return "";
  std::string media = media_type(response.header("Content-Type"));
  if (!described["content"].contains(media)) {
    return name + ": Content-Type '" + response.header("Content-Type") + "' is not documented";
  }
  const json& schema = described["content"][media].value("schema", json::object());
  if (head || media != "application/json") return "";
  std::string why = validate_json(schema, body);
  return why.empty() ? "" : name + ": " + why;
}

void check_every_response_against_openapi(std::function<void(const std::string&)> report) {
  auto checker = std::make_shared<OpenApiCheck>();
  set_response_hook([checker, report](const std::string& method, const std::string& path,
                                      const HttpResponse& response) {
    std::string problem = checker->check(method, path, response);
    if (!problem.empty()) report(problem);
  });
}

}  // namespace support
