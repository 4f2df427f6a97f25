// The OpenAPI document against the app itself (no database needed): the
// routes the app registers are exactly the operations the document describes,
// the served document is the repository's file, and /docs is self-contained.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "app_factory.hpp"
#include "support/html_assets.hpp"
#include "support/openapi_check.hpp"
#include "unit_app.hpp"

namespace {

using Operations = std::set<std::pair<std::string, std::string>>;

// "/users/:id" (Pistache) as "/users/{id}" (OpenAPI).
std::string openapi_path(const std::string& path) {
  std::string out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == ':' && pos > 0 && path[pos - 1] == '/') {
      auto end = path.find('/', pos);
      if (end == std::string::npos) end = path.size();
      out += "{" + path.substr(pos + 1, end - pos - 1) + "}";
      pos = end;
    } else {
      out += path[pos++];
    }
  }
  return out;
}

Operations registered(const common::App& app) {
  Operations out;
  for (const auto& route : app.routes()) out.emplace(route.method, openapi_path(route.path));
  return out;
}

std::string describe(const Operations& operations) {
  std::string out;
  for (const auto& [method, path] : operations) out += "  " + method + " " + path + "\n";
  return out;
}

void expect_same_operations(const users::UsersConfig& config) {
  auto app = users::create_app(config);
  auto in_app = registered(*app);
  auto in_document = support::OpenApiCheck().operations();
  Operations missing, extra;
  for (const auto& op : in_app) {
    if (!in_document.count(op)) missing.insert(op);
  }
  for (const auto& op : in_document) {
    if (!in_app.count(op)) extra.insert(op);
  }
  EXPECT_TRUE(missing.empty()) << "registered but not in openapi.json:\n" << describe(missing);
  EXPECT_TRUE(extra.empty()) << "in openapi.json but not registered:\n" << describe(extra);
  EXPECT_GE(in_app.size(), 16u);  // the sets are not both empty
}

TEST(OpenApi, RegisteredRoutes_AreExactlyTheDocumentedOperations) {
  expect_same_operations(unit::test_config());
  expect_same_operations(unit::test_config({{"REQUIRE_ADMIN_FOR_WRITES", "true"}}));
}

TEST(OpenApi, Document_IsOpenApi31WithUniqueOperationIdsAndResolvableRefs) {
  support::OpenApiCheck check;
  const auto& document = check.document();
  EXPECT_EQ(document["openapi"], "3.1.0");
  std::set<std::string> ids;
  for (const auto& [path, item] : document["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      ASSERT_TRUE(operation.contains("operationId")) << method << " " << path;
      EXPECT_TRUE(ids.insert(operation["operationId"].get<std::string>()).second)
          << "duplicate operationId " << operation["operationId"];
      EXPECT_FALSE(operation["responses"].empty()) << method << " " << path;
    }
  }
  // Every $ref points at something.
  std::vector<const nlohmann::json*> stack = {&document};
  while (!stack.empty()) {
    const auto* node = stack.back();
    stack.pop_back();
    if (node->is_object() && node->contains("$ref")) {
      auto pointer = (*node)["$ref"].get<std::string>().substr(1);
      EXPECT_TRUE(document.contains(nlohmann::json::json_pointer(pointer))) << pointer;
    }
    if (node->is_structured()) {
      for (const auto& child : *node) stack.push_back(&child);
    }
  }
  EXPECT_EQ(document["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
}

class ServedDocs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    app_ = users::create_app(unit::test_config()).release();
    app_->start();
  }
  static void TearDownTestSuite() {
    delete app_;
    app_ = nullptr;
  }
  static support::HttpResponse get(const std::string& path) {
    return support::http_request(app_->port(), "GET", path);
  }
  static common::App* app_;
};

common::App* ServedDocs::app_ = nullptr;

TEST_F(ServedDocs, OpenApiJson_IsTheRepositoryFile) {
  std::ifstream file(support::openapi_document_path());
  std::stringstream text;
  text << file.rdbuf();
  auto response = get("/openapi.json");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.body, text.str());
}

TEST_F(ServedDocs, DocsPage_IsSelfContainedAndDescribesEveryOperation) {
  auto page = get("/docs");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(support::external_loads(page.body), "") << "the page loads from elsewhere";
  // The prod CSP allows styles from 'self' only: no inline <style>.
  EXPECT_EQ(page.body.find("<style"), std::string::npos);
  auto locals = support::local_urls(page.body);
  EXPECT_FALSE(locals.empty());
  for (const auto& url : locals) EXPECT_EQ(get(url).status, 200) << url;
  for (const auto& [method, path] : support::OpenApiCheck().operations()) {
    EXPECT_NE(page.body.find(path), std::string::npos) << path;
  }
  EXPECT_NE(page.body.find("Successfully registered."), std::string::npos);  // examples shown
}

// The descriptions are CommonMark: /docs shows them rendered, no backticks.
TEST_F(ServedDocs, DocsPage_RendersTheDescriptionsMarkdown) {
  auto page = get("/docs");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(
      page.body.find("<code>{&quot;status&quot;:&quot;fail&quot;,&quot;message&quot;:...}</code>"),
      std::string::npos);
  EXPECT_NE(page.body.find("With <code>limit</code>"), std::string::npos);
  EXPECT_EQ(page.body.find('`'), std::string::npos) << "raw Markdown left in the page";
}

// Swagger UI: one page, its files from this origin (no inline script, so the
// CSP can keep script-src 'self'), with their types and cache headers.
TEST_F(ServedDocs, DocsTry_IsSwaggerUiServedFromThisOrigin) {
  auto page = get("/docs/try");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page.header("Cache-Control"), "no-cache");
  // Its own policy (the prod one relaxed for Swagger UI): scripts from this
  // origin only, never inline or eval.
  std::string csp = page.header("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'; script-src 'self';"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-"), std::string::npos) << csp;
  EXPECT_EQ(get("/docs").header("Content-Security-Policy").find("script-src"), std::string::npos);
  std::size_t script_tags = 0;
  std::size_t script_sources = 0;
  std::set<std::string> files;
  for (const auto& reference : support::page_references(page.body)) {
    if (reference.url == "<inline script>") {  // one for every <script>, with src or not
      ++script_tags;
      continue;
    }
    if (reference.url == "data:,") continue;  // the empty favicon: no request at all
    EXPECT_TRUE(reference.url.rfind("/docs/try/", 0) == 0) << reference.tag << " " << reference.url;
    if (reference.tag == "script") ++script_sources;
    auto response = get(reference.url);
    EXPECT_EQ(response.status, 200) << reference.url;
    EXPECT_EQ(response.header("Cache-Control"), "public, max-age=86400") << reference.url;
    auto name = reference.url.substr(10, reference.url.find('?') - 10);
    files.insert(name);
    bool css = name.size() > 4 && name.substr(name.size() - 4) == ".css";
    EXPECT_EQ(response.header("Content-Type"),
              css ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8")
        << reference.url;
  }
  EXPECT_EQ(files, (std::set<std::string>{"swagger-ui.css", "swagger-ui-bundle.js",
                                          "swagger-initializer.js"}));
  EXPECT_EQ(script_tags, script_sources) << "an inline script";
  EXPECT_EQ(page.body.find("style="), std::string::npos);
  EXPECT_NE(get("/docs/try/swagger-initializer.js").body.find("url: '/openapi.json'"),
            std::string::npos);
  EXPECT_NE(get("/docs/try/swagger-ui-bundle.js").body.find("SwaggerUIBundle"), std::string::npos);
  auto missing = get("/docs/try/swagger-ui.js.map");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("Content-Type"), "application/json");
}

TEST(HtmlAssets, FindsScriptsAndRemoteAssets) {
  EXPECT_EQ(support::external_loads(R"(<link rel="stylesheet" href="/static/style.css">)"), "");
  EXPECT_EQ(support::external_loads(R"(<a href="https://example.com">x</a>)"), "");
  EXPECT_NE(support::external_loads(R"(<script src="/local.js"></script>)"), "");
  EXPECT_NE(support::external_loads(R"(<link href="https://cdn.example/x.css">)"), "");
  EXPECT_NE(support::external_loads(R"(<img src="//cdn.example/x.png">)"), "");
  EXPECT_EQ(support::local_urls(R"(<a href="#x"></a><img src="/a.png">)"),
            std::vector<std::string>{"/a.png"});
}

}  // namespace
