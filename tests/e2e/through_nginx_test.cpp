// The contract end to end: client -> nginx (prod template) -> users-service
// binary -> PostgreSQL.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "stack.hpp"
#include "support/html_assets.hpp"
#include "support/http_client.hpp"

namespace {

e2e::Stack* stack = nullptr;

class ThroughNginx : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { stack = new e2e::Stack(); }
  static void TearDownTestSuite() {
    delete stack;
    stack = nullptr;
  }
  static support::HttpResponse call(const std::string& method, const std::string& path,
                                    const std::string& body = "",
                                    const support::Headers& headers = {}) {
    return support::http_request(stack->nginx_port(), method, path, body, headers);
  }
  static support::HttpResponse add(const std::string& username, const std::string& email) {
    return call("POST", "/users", nlohmann::json{{"username", username}, {"email", email}}.dump(),
                {{"Content-Type", "application/json"}});
  }
};

void expect_json(const support::HttpResponse& response, int status, const std::string& key,
                 const std::string& value) {
  EXPECT_EQ(response.status, status) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.json()[key], value) << response.body;
}

TEST_F(ThroughNginx, Contract_WholeFlow) {
  expect_json(call("GET", "/ping"), 200, "message", "pong!");
  expect_json(add("michael", "michael@e2e.io"), 201, "message", "michael@e2e.io was added!");
  expect_json(add("michael", "Michael@E2E.io"), 400, "message",
              "Sorry. That email already exists.");
  expect_json(call("POST", "/users", "{}", {{"Content-Type", "application/json"}}), 400, "message",
              "Invalid payload.");
  auto user = call("GET", "/users/1");
  EXPECT_EQ(user.status, 200);
  EXPECT_EQ(user.json()["data"]["email"], "michael@e2e.io");
  expect_json(call("GET", "/users/blah"), 400, "message", "Param id error");
  expect_json(call("GET", "/users/999"), 404, "message", "User does not exist");
  ASSERT_EQ(add("fletcher", "fletcher@e2e.io").status, 201);
  auto list = call("GET", "/users").json()["data"]["users"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["username"], "michael");
  expect_json(call("GET", "/nope"), 404, "status", "fail");
  auto wrong = call("DELETE", "/users");
  expect_json(wrong, 405, "status", "fail");
  EXPECT_FALSE(wrong.header("Allow").empty());

  auto page = call("GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("All Users"), std::string::npos);
  EXPECT_NE(page.body.find("fletcher"), std::string::npos);
  auto form = call("POST", "/", "username=anna&email=anna%40e2e.io",
                   {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(form.status, 303);
  EXPECT_NE(call("GET", "/").body.find("anna"), std::string::npos);
  EXPECT_EQ(call("GET", "/static/style.css").status, 200);
}

// An account's life through nginx: GET's ETag and 304, PATCH with If-Match
// (412 when stale), a password change, DELETE. Methods, conditional headers
// and bodiless answers pass the proxy unchanged. No login here: the next test
// provokes the login limit.
TEST_F(ThroughNginx, Account_ConditionalGetPatchPasswordDelete) {
  const support::Headers json_type = {{"Content-Type", "application/json"}};
  auto registered =
      call("POST", "/auth/register",
           R"({"username":"life","email":"life@e2e.io","password":"e2e password"})", json_type);
  ASSERT_EQ(registered.status, 201) << registered.body;
  std::string token = registered.json()["auth_token"];
  support::Headers bearer = {{"Authorization", "Bearer " + token}};
  long long id = call("GET", "/auth/status", "", bearer).json()["data"]["id"];
  std::string path = "/users/" + std::to_string(id);

  auto first = call("GET", path);
  ASSERT_EQ(first.status, 200) << first.body;
  std::string etag = first.header("ETag");
  ASSERT_EQ(etag.rfind("\"", 0), 0u) << etag;  // strong
  auto cached = call("GET", path, "", {{"If-None-Match", etag}});
  EXPECT_EQ(cached.status, 304);
  EXPECT_EQ(cached.body, "");
  EXPECT_EQ(cached.header("ETag"), etag);

  auto patch_headers = bearer;
  patch_headers.emplace_back("Content-Type", "application/merge-patch+json");
  patch_headers.emplace_back("If-Match", etag);
  auto patched = call("PATCH", path, R"({"username":"lifelong"})", patch_headers);
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.json()["data"]["username"], "lifelong");
  EXPECT_NE(patched.header("ETag"), etag);
  expect_json(call("PATCH", path, R"({"username":"again"})", patch_headers), 412, "message",
              "The user has changed since you read it.");
  EXPECT_EQ(call("GET", path, "", {{"If-None-Match", etag}}).status, 200);

  auto password_headers = bearer;
  password_headers.emplace_back("Content-Type", "application/json");
  auto changed = call("POST", "/auth/password",
                      R"({"current_password":"e2e password","new_password":"another e2e one"})",
                      password_headers);
  expect_json(changed, 200, "message", "Password changed.");
  support::Headers renewed = {
      {"Authorization", "Bearer " + changed.json()["auth_token"].get<std::string>()}};
  expect_json(call("GET", "/auth/status", "", bearer), 401, "message",
              "Invalid token. Please log in again.");

  auto removed = call("DELETE", path, "", renewed);
  EXPECT_EQ(removed.status, 204) << removed.body;
  EXPECT_EQ(removed.body, "");
  expect_json(call("GET", path), 404, "message", "User does not exist");
  expect_json(call("DELETE", path, "", renewed), 401, "message",
              "Invalid token. Please log in again.");
}

// Register, status, logout, login, and the brute-force limit, all through
// nginx with the production hash cost. nginx replaces a client's X-Real-IP
// with the real peer, so forging it does not dodge the limit. The limit is
// provoked last: the service then refuses logins from loopback for a minute.
TEST_F(ThroughNginx, Auth_WholeFlowAndTheLoginLimit) {
  const support::Headers json_type = {{"Content-Type", "application/json"}};
  auto registered =
      call("POST", "/auth/register",
           R"({"username":"auth","email":"auth@e2e.io","password":"e2e password"})", json_type);
  expect_json(registered, 201, "message", "Successfully registered.");
  std::string token = registered.json()["auth_token"];
  support::Headers bearer = {{"Authorization", "Bearer " + token}};
  auto status = call("GET", "/auth/status", "", bearer);
  EXPECT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(status.json()["data"]["email"], "auth@e2e.io");
  expect_json(call("GET", "/auth/status"), 403, "message", "Provide a valid auth token.");
  expect_json(call("GET", "/auth/logout", "", bearer), 200, "message", "Successfully logged out.");
  expect_json(call("GET", "/auth/status", "", bearer), 401, "message",
              "Token revoked. Please log in again.");
  auto login = call("POST", "/auth/login", R"({"email":"auth@e2e.io","password":"e2e password"})",
                    json_type);
  expect_json(login, 200, "message", "Successfully logged in.");
  EXPECT_EQ(call("GET", "/auth/status", "",
                 {{"Authorization", "Bearer " + login.json()["auth_token"].get<std::string>()}})
                .status,
            200);

  for (int i = 0; i < 10; ++i) {
    auto forged = json_type;
    forged.emplace_back("X-Real-IP", "203.0.113." + std::to_string(i + 1));
    expect_json(
        call("POST", "/auth/login",
             R"({"email":"nobody)" + std::to_string(i) + R"(@e2e.io","password":"guess"})", forged),
        401, "message", "Invalid credentials.");
  }
  auto limited = call("POST", "/auth/login", R"({"email":"auth@e2e.io","password":"e2e password"})",
                      {{"Content-Type", "application/json"}, {"X-Real-IP", "203.0.113.99"}});
  expect_json(limited, 429, "message", "Too many failed logins. Please try again later.");
  EXPECT_FALSE(limited.header("Retry-After").empty());
}

// The API description and its page through nginx with the prod headers: the
// page loads nothing from another host, no script and no inline style (the
// CSP allows neither), and every asset it references answers 200.
TEST_F(ThroughNginx, Docs_SelfContainedUnderTheProdCsp) {
  auto document = call("GET", "/openapi.json");
  EXPECT_EQ(document.status, 200);
  EXPECT_EQ(document.json()["openapi"], "3.1.0");
  auto page = call("GET", "/docs");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.header("Content-Security-Policy").find("style-src 'self'"), std::string::npos);
  EXPECT_EQ(support::external_loads(page.body), "");
  EXPECT_EQ(page.body.find("<style"), std::string::npos);
  for (const auto& url : support::local_urls(page.body)) {
    EXPECT_EQ(call("GET", url).status, 200) << url;
  }
}

// Swagger UI: the one page whose CSP lets scripts run, and only from this
// origin (no inline script, no eval); the other security headers stay. Its
// files pass through with the service's cache header, the bundle compressed.
TEST_F(ThroughNginx, DocsTry_OnlyPageWithScripts_FromThisOriginOnly) {
  auto page = call("GET", "/docs/try");
  ASSERT_EQ(page.status, 200);
  std::string csp = page.header("Content-Security-Policy");
  // One policy: nginx's, the service's own copy hidden (two would both apply).
  EXPECT_EQ(std::count_if(page.headers.begin(), page.headers.end(),
                          [](const auto& field) {
                            return strcasecmp(field.first.c_str(), "Content-Security-Policy") == 0;
                          }),
            1);
  EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self';"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(page.header("X-Frame-Options"), "DENY");
  EXPECT_EQ(page.header("X-Content-Type-Options"), "nosniff");
  for (const char* other : {"/docs", "/", "/docs/try/swagger-initializer.js"}) {
    std::string policy = call("GET", other).header("Content-Security-Policy");
    EXPECT_FALSE(policy.empty()) << other;
    EXPECT_EQ(policy.find("script-src"), std::string::npos) << other << ": " << policy;
  }
  auto locals = support::local_urls(page.body);
  EXPECT_EQ(locals.size(), 3u);
  for (const auto& url : locals) {
    auto asset = call("GET", url);
    EXPECT_EQ(asset.status, 200) << url;
    EXPECT_EQ(asset.header("Cache-Control"), "public, max-age=86400") << url;
  }
  auto bundle = call("GET", "/docs/try/swagger-ui-bundle.js", "", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(bundle.status, 200);
  EXPECT_EQ(bundle.header("Content-Encoding"), "gzip");
}

TEST_F(ThroughNginx, SecurityHeaders_AndNoVersion) {
  auto response = call("GET", "/ping");
  EXPECT_EQ(response.header("Server"), "nginx");
  EXPECT_EQ(response.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(response.header("X-Frame-Options"), "DENY");
  EXPECT_FALSE(response.header("Content-Security-Policy").empty());
}

TEST_F(ThroughNginx, RequestId_ComesBackAndReachesTheServiceLog) {
  auto response = call("GET", "/ping", "", {{"X-Request-ID", "e2e-trace-7f3a"}});
  EXPECT_EQ(response.header("X-Request-ID"), "e2e-trace-7f3a");
  auto generated = call("GET", "/ping");
  std::string id = generated.header("X-Request-ID");
  EXPECT_FALSE(id.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::ifstream log(stack->service_log());
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_NE(text.str().find("e2e-trace-7f3a"), std::string::npos);
  EXPECT_NE(text.str().find(id), std::string::npos);
}

TEST_F(ThroughNginx, OversizedBody_JsonFromNginx) {
  auto response = call("POST", "/users", std::string(2 * 1024 * 1024, 'a'),
                       {{"Content-Type", "application/json"}});
  expect_json(response, 413, "status", "fail");
}

TEST_F(ThroughNginx, KeepAlive_ClientConnectionIsReused) {
  support::HttpConnection connection("127.0.0.1", stack->nginx_port());
  EXPECT_EQ(connection.request("GET", "/ping").status, 200);
  EXPECT_EQ(connection.request("GET", "/users").status, 200);
  EXPECT_FALSE(connection.is_closed_by_peer(std::chrono::milliseconds(200)));
}

TEST_F(ThroughNginx, ServiceDown_Json502ThenRecovers) {
  stack->stop_service();
  auto down = call("GET", "/users");
  expect_json(down, 502, "status", "fail");
  stack->start_service();
  expect_json(call("GET", "/ping"), 200, "message", "pong!");
  EXPECT_EQ(call("GET", "/users").status, 200);
}

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The access log's line of the request with this X-Request-ID ("" if none yet:
// nginx writes it once the answer is sent, so it is waited for).
std::string access_log_line(const std::string& request_id) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    std::istringstream log(read_file(stack->nginx_access_log()));
    for (std::string line; std::getline(log, line);) {
      if (line.find("rid=" + request_id + " ") != std::string::npos) return line;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  return "";
}

// A mail's link carries its token in the query: nginx logs those requests
// without it, answered by the service or, while the service is down, by
// nginx's 502 (whose error-log line would quote the request line). Paging's
// query stays in the log.
TEST_F(ThroughNginx, Edge_TokenInAMailLinkReachesNoNginxLog) {
  const std::string secret = "e2eTok3nFromAMailLink_0123456789abcdefghijklmno";
  call("GET", "/reset-password?token=" + secret, "", {{"X-Request-ID", "e2e-log-reset"}});
  call("GET", "/verify-email?token=" + secret + "&x=1", "", {{"X-Request-ID", "e2e-log-verify"}});
  call("GET", "/users?token=" + secret, "", {{"X-Request-ID", "e2e-log-other"}});
  EXPECT_EQ(call("GET", "/users?limit=1&after=0", "", {{"X-Request-ID", "e2e-log-paging"}}).status,
            200);
  stack->stop_service();
  auto down =
      call("GET", "/reset-password?token=" + secret, "", {{"X-Request-ID", "e2e-log-down"}});
  stack->start_service();
  EXPECT_EQ(down.status, 502) << down.body;

  EXPECT_NE(access_log_line("e2e-log-reset").find("\"GET /reset-password HTTP/1.1\""),
            std::string::npos)
      << access_log_line("e2e-log-reset");
  EXPECT_NE(access_log_line("e2e-log-verify").find("\"GET /verify-email HTTP/1.1\""),
            std::string::npos)
      << access_log_line("e2e-log-verify");
  EXPECT_NE(access_log_line("e2e-log-other").find("\"GET /users HTTP/1.1\""), std::string::npos)
      << access_log_line("e2e-log-other");
  EXPECT_NE(access_log_line("e2e-log-down").find("\"GET /reset-password HTTP/1.1\" 502 "),
            std::string::npos)
      << access_log_line("e2e-log-down");
  EXPECT_NE(access_log_line("e2e-log-paging").find("\"GET /users?limit=1&after=0 HTTP/1.1\" 200 "),
            std::string::npos)
      << access_log_line("e2e-log-paging");
  EXPECT_EQ(read_file(stack->nginx_access_log()).find(secret), std::string::npos);
  EXPECT_EQ(read_file(stack->nginx_error_log()).find(secret), std::string::npos)
      << read_file(stack->nginx_error_log());
}

// --- the HTTP edge's raw cases, through nginx (tests/unit/http_edge_test.cpp
// sends the same straight at the service) ------------------------------------------------

support::HttpResponse raw(const std::string& bytes) {
  support::HttpConnection connection("127.0.0.1", stack->nginx_port(), std::chrono::seconds(5));
  connection.send_raw(bytes);
  return connection.read_response();
}

void expect_json_fail(const support::HttpResponse& response, int status) {
  EXPECT_EQ(response.status, status) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_FALSE(response.header("X-Request-ID").empty());
  nlohmann::json body;
  ASSERT_NO_THROW(body = response.json()) << response.body;
  EXPECT_EQ(body["status"], "fail") << response.body;
  EXPECT_TRUE(body["message"].is_string()) << response.body;
}

TEST_F(ThroughNginx, MalformedRequests_JsonErrorsWithRequestId) {
  const std::string big(9000, 'a');
  const std::vector<std::pair<std::string, int>> cases = {
      {"GET /users/%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET /ping HTTP/1.1\r\n\r\n", 400},
      {"GET /ping HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"GET /" + big + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
      {"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n", 431},
      {"POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       400},
      {"POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999\r\n\r\n", 413},
      {"BREW /ping HTTP/1.1\r\nHost: x\r\n\r\n", 501},
      {"GET /ping HTTP/2.0\r\nHost: x\r\n\r\n", 505},
  };
  for (const auto& [bytes, status] : cases) {
    SCOPED_TRACE(bytes.substr(0, 60));
    expect_json_fail(raw(bytes), status);
  }
}

// nginx reads a header line without a colon as a field with an empty value
// (its parser's long-standing leniency; no directive changes it) and passes it
// on as "NoColon: ". What matters holds: the next line stays its own field.
// Straight at the service the same request is a JSON 400.
TEST_F(ThroughNginx, HeaderLineWithoutColon_DoesNotSwallowTheNextLine) {
  auto response = raw("GET /ping HTTP/1.1\r\nHost: x\r\nNoColon\r\nX-Request-ID: after-it\r\n\r\n");
  EXPECT_EQ(response.header("X-Request-ID"), "after-it");
  EXPECT_TRUE(response.status == 200 || response.status == 400) << response.status;
}

TEST_F(ThroughNginx, PercentEncodedIdAndAbsoluteForm_Route) {
  ASSERT_EQ(add("percent", "percent@e2e.io").status, 201);
  auto id = call("GET", "/users").json()["data"]["users"].back()["id"].get<int>();
  std::string encoded;
  for (char c : std::to_string(id)) encoded += "%3" + std::string(1, c);
  auto user = call("GET", "/users/" + encoded);
  EXPECT_EQ(user.status, 200) << user.body;
  auto pong = raw("GET http://127.0.0.1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  expect_json(pong, 200, "message", "pong!");
}

TEST_F(ThroughNginx, PipelinedRequests_AllAnsweredInOrder) {
  support::HttpConnection connection("127.0.0.1", stack->nginx_port(), std::chrono::seconds(5));
  std::string bytes;
  for (int i = 0; i < 3; ++i) {
    bytes +=
        "GET /ping HTTP/1.1\r\nHost: x\r\nX-Request-ID: pipe-" + std::to_string(i) + "\r\n\r\n";
  }
  connection.send_raw(bytes);
  for (int i = 0; i < 3; ++i) {
    auto response = connection.read_response();
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("X-Request-ID"), "pipe-" + std::to_string(i));
  }
}

TEST_F(ThroughNginx, ExpectContinue_AndChunkedBody) {
  support::HttpConnection connection("127.0.0.1", stack->nginx_port(),
                                     std::chrono::milliseconds(800));
  const std::string body = R"({"username":"expect","email":"expect@e2e.io"})";
  connection.send_raw(
      "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Expect: 100-continue\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n");
  EXPECT_EQ(connection.read_response().status, 100);
  connection.send_raw(body);
  EXPECT_EQ(connection.read_response().status, 201);
  const std::string json = R"({"username":"chunk","email":"chunk@e2e.io"})";
  std::string chunks;
  for (std::size_t at = 0; at < json.size(); at += 16) {
    auto piece = json.substr(at, 16);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    chunks += size + piece + "\r\n";
  }
  auto chunked =
      raw("POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          "Transfer-Encoding: chunked\r\n\r\n" +
          chunks + "0\r\n\r\n");
  EXPECT_EQ(chunked.status, 201) << chunked.body;
}

// Every byte nginx sends until it closes the connection.
std::string read_until_closed(support::HttpConnection& connection) {
  std::string bytes;
  char chunk[4096];
  for (ssize_t n; (n = ::recv(connection.fd(), chunk, sizeof chunk, 0)) > 0;)
    bytes.append(chunk, static_cast<std::size_t>(n));
  return bytes;
}

TEST_F(ThroughNginx, Head_SameContentLengthAsGet) {
  auto get = call("GET", "/ping");
  support::HttpConnection connection("127.0.0.1", stack->nginx_port());
  connection.send_raw("HEAD /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string bytes = read_until_closed(connection);
  EXPECT_EQ(bytes.rfind("HTTP/1.1 200", 0), 0u) << bytes;
  EXPECT_NE(bytes.find("Content-Length: " + get.header("Content-Length") + "\r\n"),
            std::string::npos)
      << bytes;
  EXPECT_EQ(bytes.substr(bytes.find("\r\n\r\n") + 4), "");  // no body
}

// nginx forwards an HTTP/1.0 request that had no Host with an empty Host,
// which RFC 9112 3.2 allows: the service answers it.
TEST_F(ThroughNginx, Http10WithoutHost_Answered200) {
  support::HttpConnection connection("127.0.0.1", stack->nginx_port());
  connection.send_raw("GET /ping HTTP/1.0\r\n\r\n");
  std::string bytes = read_until_closed(connection);
  EXPECT_EQ(bytes.rfind("HTTP/1.1 200", 0), 0u) << bytes;
  EXPECT_NE(bytes.find(R"({"message":"pong!","status":"success"})"), std::string::npos) << bytes;
}

// --- the edge: security headers, /metrics, the auth rate limit ---------------------

int count_fields(const support::HttpResponse& response, const std::string& name) {
  int count = 0;
  for (const auto& [field, value] : response.headers) {
    count += strcasecmp(field.c_str(), name.c_str()) == 0 ? 1 : 0;
  }
  return count;
}

// The service here keeps SECURITY_HEADERS on (its default): nginx hides its
// copies and adds its own, so every answer carries each header once, the
// service's answers, the static files and nginx's own errors alike.
TEST_F(ThroughNginx, Edge_SecurityHeadersExactlyOnceOnEveryAnswer) {
  auto direct = support::http_request(stack->service_port(), "GET", "/ping");
  ASSERT_EQ(direct.header("X-Frame-Options"), "DENY") << "the service sends none itself";
  for (const char* path : {"/ping", "/static/style.css", "/", "/users/999", "/metrics"}) {
    auto response = call("GET", path);
    for (const char* header : {"Content-Security-Policy", "X-Frame-Options",
                               "X-Content-Type-Options", "Referrer-Policy"}) {
      EXPECT_EQ(count_fields(response, header), 1) << path << " " << header;
    }
    EXPECT_EQ(response.header("X-Frame-Options"), "DENY") << path;
    EXPECT_NE(response.header("Content-Security-Policy").find("default-src 'none'"),
              std::string::npos)
        << path;
    EXPECT_EQ(count_fields(response, "Strict-Transport-Security"), 0) << "plain HTTP: " << path;
  }
  auto css = call("GET", "/static/style.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.header("Cache-Control"), "public, max-age=3600");
}

TEST_F(ThroughNginx, Edge_MetricsOnlyFromInside) {
  expect_json(call("GET", "/metrics"), 404, "message", "Resource not found.");
  EXPECT_EQ(call("GET", "/%6detrics").status, 404);
  // No other spelling reaches the service's metrics either (a router that
  // ignores a trailing slash or an empty segment would serve them).
  for (const char* spelling :
       {"/metrics/", "//metrics", "/metrics//", "/metrics%2F", "/./metrics/"}) {
    expect_json(call("GET", spelling), 404, "message", "Resource not found.");
  }
  EXPECT_EQ(support::http_request(stack->service_port(), "GET", "/metrics").status, 200);
}

// One request from `source` (another loopback address: nginx counts it as
// another client) on its own connection; the raw answer.
std::string exchange_from(const char* source, int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  std::string answer;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0 &&
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    for (ssize_t got; (got = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) {
      answer.append(buffer, static_cast<std::size_t>(got));
    }
  }
  ::close(fd);
  return answer;
}

TEST_F(ThroughNginx, Edge_AuthFloodFromOneAddress_Json429ForItAlone) {
  const std::string login =
      "POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
  int limited = 0;
  std::string last;
  for (int i = 0; i < 30; ++i) {
    last = exchange_from("127.0.0.2", stack->nginx_port(), login);
    ASSERT_FALSE(last.empty()) << "no answer to request " << i;
    if (last.rfind("HTTP/1.1 429", 0) == 0) ++limited;
  }
  EXPECT_GE(limited, 10);
  EXPECT_EQ(last.rfind("HTTP/1.1 429", 0), 0u) << last;
  EXPECT_NE(last.find(R"({"status":"fail","message":"Too many requests."})"), std::string::npos)
      << last;
  EXPECT_NE(last.find("Content-Type: application/json"), std::string::npos) << last;
  EXPECT_NE(last.find("Retry-After: 1"), std::string::npos) << last;
  // The same address may still read, and other addresses may still post.
  auto ping = exchange_from("127.0.0.2", stack->nginx_port(),
                            "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(ping.rfind("HTTP/1.1 200", 0), 0u) << ping;
  auto other = call("POST", "/auth/register", "{}", {{"Content-Type", "application/json"}});
  expect_json(other, 400, "message", "Invalid payload.");
}

// Another spelling of a rate-limited path is never served unlimited: 30
// parallel POSTs from one address (its own, so the other tests' limits stay
// apart) each get nginx's JSON 404 or the rate limit's 429, never the
// service's answer.
TEST_F(ThroughNginx, Edge_NonCanonicalAuthPathsNeverServedUnlimited) {
  const std::vector<std::pair<std::string, const char*>> spellings = {
      {"/auth/register/", "127.0.0.3"},
      {"/auth/login/", "127.0.0.4"},
      {"//auth/login", "127.0.0.5"},
      {"/auth//register", "127.0.0.6"},
      {"/auth/password/", "127.0.0.7"}};
  const std::string body =
      R"({"username":"slash","email":"slash@e2e.io","password":"e2e password"})";
  for (const auto& [path, source] : spellings) {
    SCOPED_TRACE(path);
    const std::string request = "POST " + path +
                                " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                "Content-Length: " +
                                std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                                body;
    std::vector<std::string> answers(30);
    std::vector<std::thread> clients;
    for (auto& answer : answers) {
      clients.emplace_back([&answer, &request, source = source] {
        answer = exchange_from(source, stack->nginx_port(), request);
      });
    }
    for (auto& client : clients) client.join();
    for (const auto& answer : answers) {
      bool not_found = answer.rfind("HTTP/1.1 404", 0) == 0 &&
                       answer.find(R"("message":"Resource not found.")") != std::string::npos;
      bool limited = answer.rfind("HTTP/1.1 429", 0) == 0;
      EXPECT_TRUE(not_found || limited) << answer;
    }
  }
  const auto listed = call("GET", "/users").json();
  for (const auto& user : listed["data"]["users"]) {
    EXPECT_NE(user["username"], "slash") << "a non-canonical register reached the service";
  }
}

TEST_F(ThroughNginx, Edge_TokenAnswersAreNotCached) {
  auto registered =
      call("POST", "/auth/register",
           R"({"username":"nostore","email":"nostore@e2e.io","password":"e2e password"})",
           {{"Content-Type", "application/json"}});
  EXPECT_EQ(registered.status, 201) << registered.body;
  EXPECT_EQ(registered.header("Cache-Control"), "no-store");
}

}  // namespace
