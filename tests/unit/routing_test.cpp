// Routing and the HTTP edge of the real app (users::create_app) over real
// HTTP, with the database unreachable: nothing listens on its port, so what
// must work without it works, and what needs it answers 503 fast. Plus the
// places where Pistache 0.0.5's own HTTP layer goes wrong (docs/design.md), and the
// route table alone on Pistache's router tree (RouteTable).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pistache/router.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "app_factory.hpp"
#include "common/app.hpp"
#include "common/logging.hpp"
#include "common/request_id.hpp"
#include "edge/router.hpp"
#include "embedded_files.hpp"
#include "support/http_client.hpp"
#include "unit_app.hpp"

namespace {

using namespace std::chrono_literals;
using support::http_request;
using support::HttpConnection;
using support::HttpResponse;
using unit::Clock;
using unit::expect_json_fail;
using unit::iequals;

const char* const kPong = R"({"message":"pong!","status":"success"})";
const char* const kJsonHeaders = "Content-Type: application/json\r\n";

class Routing : public unit::AppSuite<Routing> {
 protected:
  static void SetUpTestSuite() {
    auto config = unit::test_config();
    common::setup_logging(config);
    serve(users::create_app(config));
  }
};

HttpResponse post_json(int port, const std::string& path, const std::string& body) {
  return http_request(port, "POST", path, body, {{"Content-Type", "application/json"}});
}

// The pool's failed connection attempts so far, read from /metrics: it moves
// only when a request tried to reach the database.
// Calls to the database so far (connections are opened and retried in the
// background, so connection failures would not tell).
long long database_calls(int port) {
  auto metrics = http_request(port, "GET", "/metrics");
  const std::string key = "\ndb_calls_total ";
  auto at = metrics.body.find(key);
  if (at == std::string::npos) throw std::runtime_error("no database call counter in /metrics");
  return std::stoll(metrics.body.substr(at + key.size()));
}

// A scrape of /metrics makes database calls of its own (pg_stat_archiver):
// what two scrapes with nothing between them count.
long long calls_of_one_scrape(int port) {
  long long first = database_calls(port);
  return database_calls(port) - first;
}

// --- /ping, 404, 405, HEAD, OPTIONS --------------------------------------------------

TEST_F(Routing, GetPing_Returns200ExactJson) {
  auto response = http_request(port(), "GET", "/ping");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.body, kPong);
}

TEST_F(Routing, UnknownPath_Returns404Json) {
  expect_json_fail(http_request(port(), "GET", "/nope"), 404);
  expect_json_fail(http_request(port(), "GET", "/users/1/extra"), 404);
  expect_json_fail(http_request(port(), "DELETE", "/nope/deeper"), 404);
  expect_json_fail(http_request(port(), "POST", "/no/such", "{}"), 404);
  expect_json_fail(http_request(port(), "OPTIONS", "/nope"), 404);
}

// --- one name per path: only the canonical form is served -------------------------

// nginx and the Ingress limit and block paths by exact string; a second
// spelling that still reached the route would walk around them.
TEST_F(Routing, NonCanonicalPaths_Return404JsonWithoutReachingTheRoute) {
  long long scrape = calls_of_one_scrape(port());
  long long before = database_calls(port());
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"GET", "/metrics/"},
      {"POST", "/auth/login/"},
      {"POST", "/auth/register/"},
      {"GET", "/users/1/"},
      {"GET", "//users/1"},
      {"GET", "/users//1"},
      {"GET", "/ping/"},
      {"GET", "//ping"},
      {"GET", "/users/./1"},
      {"GET", "/users/../ping"},
      {"GET", "//"},
      {"POST", "/users/"},
      {"DELETE", "/users/1/"},
      {"OPTIONS", "/ping/"},
      {"PATCH", "/users/1//"},
  };
  for (const auto& [method, path] : requests) {
    SCOPED_TRACE(method + " " + path);
    auto body = method == "POST" || method == "PATCH" ? "{}" : "";
    expect_json_fail(
        http_request(port(), method, path, body, {{"Content-Type", "application/json"}}), 404,
        "Resource not found.");
  }
  EXPECT_EQ(database_calls(port()), before + scrape);
}

TEST_F(Routing, CanonicalForms_StillServed) {
  EXPECT_EQ(http_request(port(), "GET", "/ping").body, kPong);
  EXPECT_EQ(http_request(port(), "GET", "/metrics").status, 200);
  EXPECT_EQ(http_request(port(), "GET", "/ping?x=/").body, kPong);  // the query is not the path
  expect_json_fail(post_json(port(), "/auth/login", "{}"), 400, "Invalid payload.");
}

// "%2F" is data inside a segment: it reaches the handler decoded as part of
// the id, and never splits or joins segments to reach another route.
TEST_F(Routing, EncodedSlash_IsNotASeparator) {
  expect_json_fail(http_request(port(), "GET", "/users/1%2F2"), 400, "Param id error");
  expect_json_fail(http_request(port(), "GET", "/users%2F1"), 404, "Resource not found.");
  expect_json_fail(http_request(port(), "GET", "/metrics%2F"), 404, "Resource not found.");
}

TEST_F(Routing, DeleteUsers_Returns405JsonWithAllow) {
  auto response = http_request(port(), "DELETE", "/users");
  expect_json_fail(response, 405);
  EXPECT_EQ(response.header("Allow"), "GET, HEAD, OPTIONS, POST");
}

TEST_F(Routing, PutPing_Returns405JsonWithAllow) {
  auto response = http_request(port(), "PUT", "/ping", "{}");
  expect_json_fail(response, 405);
  EXPECT_EQ(response.header("Allow"), "GET, HEAD, OPTIONS");
}

TEST_F(Routing, OtherWrongMethods_Return405JsonWithAllow) {
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"POST", "/ping"},
                                                        {"PUT", "/users/1"},
                                                        {"POST", "/users/1"},
                                                        {"DELETE", "/users"},
                                                        {"PATCH", "/users"},
                                                        {"TRACE", "/ping"}}) {
    SCOPED_TRACE(method + " " + path);
    auto response = http_request(port(), method, path);
    expect_json_fail(response, 405);
    EXPECT_FALSE(response.header("Allow").empty());
  }
}

TEST_F(Routing, HeadPing_Returns200WithoutBody) {
  auto exchange = unit::head_then_ping(port(), "/ping");
  EXPECT_EQ(unit::status_of(exchange.head), 200) << exchange.head;
  EXPECT_NE(exchange.head.find(kJsonHeaders), std::string::npos) << exchange.head;
  EXPECT_NE(exchange.head.find("X-Request-ID: "), std::string::npos) << exchange.head;
  EXPECT_EQ(exchange.after.rfind("HTTP/1.1 200", 0), 0u) << "after HEAD: " << exchange.after;
  EXPECT_NE(exchange.after.find(kPong), std::string::npos);
}

TEST_F(Routing, HeadOnGetRoutesWithErrors_SendNoBody) {
  for (const char* path : {"/users/abc", "/users", "/"}) {
    SCOPED_TRACE(path);
    auto exchange = unit::head_then_ping(port(), path);
    EXPECT_GE(unit::status_of(exchange.head), 400) << exchange.head;
    EXPECT_EQ(exchange.after.rfind("HTTP/1.1 200", 0), 0u) << "after HEAD: " << exchange.after;
  }
}

// A HEAD response never has a body, errors included: on a keep-alive
// connection the body's bytes would be read as the start of the next response.
TEST_F(Routing, HeadUnknownPath_Returns404WithoutBody) {
  auto exchange = unit::head_then_ping(port(), "/nope");
  EXPECT_EQ(unit::status_of(exchange.head), 404) << exchange.head;
  EXPECT_EQ(exchange.after.rfind("HTTP/1.1 200", 0), 0u) << "after HEAD: " << exchange.after;
}

TEST_F(Routing, OptionsUsers_Returns204WithAllow) {
  auto response = http_request(port(), "OPTIONS", "/users");
  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(response.header("Allow"), "GET, HEAD, OPTIONS, POST");
  EXPECT_EQ(response.body, "");
}

TEST_F(Routing, OptionsUserById_Returns204WithAllow) {
  auto response = http_request(port(), "OPTIONS", "/users/5");
  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(response.header("Allow"), "DELETE, GET, HEAD, OPTIONS, PATCH");
}

// --- the database is down ----------------------------------------------------------

void expect_prompt_503(int port, const std::string& method, const std::string& path,
                       const std::string& body = "") {
  SCOPED_TRACE(method + " " + path);
  auto started = Clock::now();
  auto response = http_request(port, method, path, body, {{"Content-Type", "application/json"}});
  EXPECT_LT(Clock::now() - started, 5s);
  expect_json_fail(response, 503);
  EXPECT_EQ(response.header("Retry-After"), "1");
}

TEST_F(Routing, GetUsers_DatabaseDown_Returns503JsonWithRetryAfterPromptly) {
  expect_prompt_503(port(), "GET", "/users");
}

TEST_F(Routing, GetUserById_DatabaseDown_Returns503JsonWithRetryAfterPromptly) {
  expect_prompt_503(port(), "GET", "/users/1");
}

TEST_F(Routing, PostUsersValid_DatabaseDown_Returns503JsonWithRetryAfterPromptly) {
  expect_prompt_503(port(), "POST", "/users", R"({"username":"a","email":"a@b.co"})");
}

TEST_F(Routing, DatabaseDown_ServiceStaysUp) {
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(http_request(port(), "GET", "/users").status, 503);
  }
  EXPECT_EQ(http_request(port(), "GET", "/ping").body, kPong);
  EXPECT_EQ(http_request(port(), "GET", "/health/live").status, 200);
  expect_json_fail(http_request(port(), "GET", "/health/ready"), 503);
}

// --- bad input is refused before the database --------------------------------------

TEST_F(Routing, GetUsersNonIntegerId_Returns400ParamIdErrorWithoutTheDatabase) {
  long long scrape = calls_of_one_scrape(port());
  long long before = database_calls(port());
  for (const char* id : {"abc", "1a", "2147483648", "-", "1.5", "0x1"}) {
    SCOPED_TRACE(id);
    expect_json_fail(http_request(port(), "GET", std::string("/users/") + id), 400,
                     "Param id error");
  }
  EXPECT_EQ(database_calls(port()), before + scrape);
}

TEST_F(Routing, PostUsersInvalidPayload_Returns400WithoutTheDatabase) {
  long long scrape = calls_of_one_scrape(port());
  long long before = database_calls(port());
  const std::vector<std::string> bodies = {
      "",
      "{}",
      "[]",
      "42",
      "nope",
      "{",
      R"({"username":"a"})",
      R"({"email":"a@b.co"})",
      R"({"username":1,"email":"a@b.co"})",
      R"({"username":"   ","email":"a@b.co"})",
      R"({"username":"a","email":"not-an-email"})",
      R"({"username":")" + std::string(129, 'x') + R"(","email":"a@b.co"})",
      std::string(100000, '['),
  };
  for (const auto& body : bodies) {
    SCOPED_TRACE(body.substr(0, 60));
    expect_json_fail(post_json(port(), "/users", body), 400, "Invalid payload.");
  }
  EXPECT_EQ(database_calls(port()), before + scrape);
}

TEST_F(Routing, PostUsersNotDeclaredAsJson_Returns400) {
  const std::string valid = R"({"username":"a","email":"a@b.co"})";
  expect_json_fail(http_request(port(), "POST", "/users", valid), 400, "Invalid payload.");
  expect_json_fail(http_request(port(), "POST", "/users", valid, {{"Content-Type", "text/plain"}}),
                   400, "Invalid payload.");
}

// --- headers on every response -----------------------------------------------------

TEST_F(Routing, EveryResponse_HasContentTypeAndRequestId) {
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"GET", "/ping"},      {"GET", "/nope"},
      {"DELETE", "/users"},  {"GET", "/users"},
      {"GET", "/users/abc"}, {"POST", "/users"},
      {"GET", "/"},          {"GET", "/static/style.css"},
      {"OPTIONS", "/ping"},  {"GET", "/health/live"},
      {"GET", "/metrics"}};
  for (const auto& [method, path] : requests) {
    SCOPED_TRACE(method + " " + path);
    auto response = http_request(port(), method, path);
    EXPECT_FALSE(response.header("Content-Type").empty());
    EXPECT_TRUE(common::is_valid_request_id(response.header("X-Request-ID")))
        << response.header("X-Request-ID");
  }
}

TEST_F(Routing, ValidIncomingRequestId_IsEchoed) {
  for (const std::string& id :
       {std::string("trace-42"), std::string("a.b:c_d-1"), std::string(128, 'z')}) {
    EXPECT_EQ(
        http_request(port(), "GET", "/ping", "", {{"X-Request-ID", id}}).header("X-Request-ID"),
        id);
  }
  // On errors too.
  auto missing = http_request(port(), "GET", "/nope", "", {{"X-Request-ID", "trace-404"}});
  EXPECT_EQ(missing.header("X-Request-ID"), "trace-404");
  auto down = http_request(port(), "GET", "/users", "", {{"X-Request-ID", "trace-503"}});
  EXPECT_EQ(down.header("X-Request-ID"), "trace-503");
}

TEST_F(Routing, InvalidIncomingRequestId_IsReplaced) {
  for (const std::string& bad :
       {std::string("bad id!"), std::string(300, 'a'), std::string(129, 'a'), std::string("<x>")}) {
    SCOPED_TRACE(bad);
    auto response = http_request(port(), "GET", "/ping", "", {{"X-Request-ID", bad}});
    EXPECT_EQ(response.status, 200);
    auto id = response.header("X-Request-ID");
    EXPECT_NE(id, bad);
    EXPECT_EQ(id.size(), 32u);
    EXPECT_TRUE(common::is_valid_request_id(id));
  }
}

TEST_F(Routing, RequestsWithoutAnId_GetDistinctIds) {
  auto first = http_request(port(), "GET", "/ping").header("X-Request-ID");
  auto second = http_request(port(), "GET", "/ping").header("X-Request-ID");
  EXPECT_EQ(first.size(), 32u);
  EXPECT_NE(first, second);
}

// --- connections ---------------------------------------------------------------------

TEST_F(Routing, KeepAlive_TwoRequestsShareOneSocket) {
  // No Connection header, as wrk and curl send: HTTP/1.1 keeps alive.
  HttpConnection connection("127.0.0.1", port());
  auto first = connection.request("GET", "/ping");
  auto second = connection.request("GET", "/ping");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, kPong);
  EXPECT_TRUE(iequals(first.header("Connection"), "keep-alive")) << first.header("Connection");
  EXPECT_TRUE(iequals(second.header("Connection"), "keep-alive")) << second.header("Connection");
  EXPECT_FALSE(connection.is_closed_by_peer(100ms));
}

TEST_F(Routing, KeepAlive_HoldsAcrossErrorsAndDatabaseRoutes) {
  HttpConnection connection("127.0.0.1", port());
  EXPECT_EQ(connection.request("GET", "/nope").status, 404);
  EXPECT_EQ(connection.request("GET", "/users/abc").status, 400);
  EXPECT_EQ(connection.request("GET", "/users").status, 503);
  auto last = connection.request("GET", "/ping");
  EXPECT_EQ(last.body, kPong);
  EXPECT_TRUE(iequals(last.header("Connection"), "keep-alive"));
}

TEST_F(Routing, ConnectionClose_IsAnsweredWithCloseAndTheSocketCloses) {
  HttpConnection connection("127.0.0.1", port());
  auto response = connection.request("GET", "/ping", "", {{"Connection", "close"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(iequals(response.header("Connection"), "close")) << response.header("Connection");
  EXPECT_TRUE(connection.is_closed_by_peer(2s));
}

TEST_F(Routing, Http10WithoutKeepAlive_IsClosed) {
  HttpConnection connection("127.0.0.1", port());
  connection.send_raw("GET /ping HTTP/1.0\r\n\r\n");
  auto response = connection.read_response();
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(iequals(response.header("Connection"), "close"));
  EXPECT_TRUE(connection.is_closed_by_peer(2s));
}

TEST_F(Routing, BodyInASecondPacket_IsRead) {
  HttpConnection connection("127.0.0.1", port());
  connection.send_raw(
      "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\n\r\n");
  std::this_thread::sleep_for(20ms);  // make the body a separate read on the server
  connection.send_raw("{}");
  expect_json_fail(connection.read_response(), 400, "Invalid payload.");
  EXPECT_EQ(connection.request("GET", "/ping").body, kPong);
}

TEST_F(Routing, EveryRequestGetsExactlyOneResponse) {
  // On one keep-alive connection, as nginx's upstream uses it: a stray second
  // response to any request would be read as the answer to the next one.
  HttpConnection connection("127.0.0.1", port());
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"GET", "/nope"},   {"DELETE", "/users"}, {"GET", "/users/abc"}, {"OPTIONS", "/ping"},
      {"PUT", "/ping"},   {"GET", "/a/b/c"},    {"POST", "/users"},    {"GET", "/users"},
      {"TRACE", "/nope"}, {"PATCH", "/"}};
  for (const auto& [method, path] : requests) {
    SCOPED_TRACE(method + " " + path);
    auto response = connection.request(method, path);
    EXPECT_GE(response.status, 200);
    auto ping = connection.request("GET", "/ping");
    EXPECT_EQ(ping.status, 200);
    EXPECT_EQ(ping.body, kPong);
  }
  EXPECT_FALSE(connection.is_closed_by_peer(100ms));
}

// Pipelining (RFC 9112 9.3.2): several requests in one packet are all
// answered, in order, on a connection that stays open.
TEST_F(Routing, PipelinedRequests_AllAnsweredInOrder) {
  HttpConnection connection("127.0.0.1", port(), 3s);
  connection.send_raw(
      "GET /ping HTTP/1.1\r\nHost: x\r\nX-Request-ID: p1\r\n\r\n"
      "GET /ping HTTP/1.1\r\nHost: x\r\nX-Request-ID: p2\r\n\r\n");
  auto first = connection.read_response();
  auto second = connection.read_response();
  EXPECT_EQ(first.header("X-Request-ID"), "p1");
  EXPECT_EQ(second.header("X-Request-ID"), "p2");
  EXPECT_EQ(second.body, kPong);
  EXPECT_TRUE(iequals(second.header("Connection"), "keep-alive"));
  EXPECT_FALSE(connection.is_closed_by_peer(100ms));
}

TEST_F(Routing, SlowClients_DoNotHoldUpOthers) {
  // Many half-sent requests (slowloris) cost the loops only their buffers: a
  // normal request is still served at once.
  std::vector<std::unique_ptr<HttpConnection>> slow;
  for (int i = 0; i < 100; ++i) {
    slow.push_back(std::make_unique<HttpConnection>("127.0.0.1", port()));
    slow.back()->send_raw("GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  }
  auto started = Clock::now();
  EXPECT_EQ(http_request(port(), "GET", "/ping").status, 200);
  EXPECT_LT(Clock::now() - started, 1s);
}

// --- oversized and malformed requests ---------------------------------------------

TEST_F(Routing, PostUsers8MbWithContentLength_Prompt413JsonAndConnectionClosed) {
  std::string body(8 * 1024 * 1024, 'a');
  auto started = Clock::now();
  HttpConnection connection("127.0.0.1", port(), 5s);
  connection.send_raw(std::string("POST /users HTTP/1.1\r\nHost: x\r\n") + kJsonHeaders +
                      "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  try {
    connection.send_raw(body);  // the server may stop reading before the end
  } catch (const std::exception&) {
  }
  auto response = connection.read_response();
  EXPECT_LT(Clock::now() - started, 3s);
  expect_json_fail(response, 413);
  EXPECT_TRUE(iequals(response.header("Connection"), "close"));
  EXPECT_TRUE(connection.is_closed_by_peer(2s));
  EXPECT_EQ(http_request(port(), "GET", "/ping").body, kPong);
}

TEST_F(Routing, PostUsersContentLengthOverLimit_RefusedBeforeTheBodyIsSent) {
  HttpConnection connection("127.0.0.1", port(), 3s);
  connection.send_raw(std::string("POST /users HTTP/1.1\r\nHost: x\r\n") + kJsonHeaders +
                      "Content-Length: 8388608\r\n\r\n");
  expect_json_fail(connection.read_response(), 413);
  EXPECT_TRUE(connection.is_closed_by_peer(2s));
}

// Peak virtual memory of this process (the app runs in it), from /proc.
long long vm_peak_kb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmPeak:", 0) == 0) return std::stoll(line.substr(7));
  }
  return -1;
}

// Refusing a huge Content-Length must not first reserve that much memory: a
// few such connections would exhaust a memory-limited container.
TEST_F(Routing, PostUsersHugeContentLength_RefusedWithoutReservingIt) {
  long long before = vm_peak_kb();
  ASSERT_GT(before, 0);
  HttpConnection connection("127.0.0.1", port(), 3s);
  connection.send_raw(std::string("POST /users HTTP/1.1\r\nHost: x\r\n") + kJsonHeaders +
                      "Content-Length: 1000000000\r\n\r\n");
  expect_json_fail(connection.read_response(), 413);
  long long grown_mb = (vm_peak_kb() - before) / 1024;
  EXPECT_LT(grown_mb, 256) << "peak virtual memory grew by " << grown_mb << " MB";
}

// The refusal happens after the headers were parsed, so the caller's id
// (nginx's, in production) is known and must come back for correlation.
TEST_F(Routing, RefusedOversizedRequest_EchoesAValidRequestId) {
  HttpConnection connection("127.0.0.1", port(), 3s);
  connection.send_raw(std::string("POST /users HTTP/1.1\r\nHost: x\r\n") + kJsonHeaders +
                      "X-Request-ID: trace-413\r\nContent-Length: 8388608\r\n\r\n");
  auto response = connection.read_response();
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.header("X-Request-ID"), "trace-413");
}

TEST_F(Routing, PostUsers8MbChunked_Prompt413JsonAndConnectionClosed) {
  auto started = Clock::now();
  HttpConnection connection("127.0.0.1", port(), 5s);
  connection.send_raw(std::string("POST /users HTTP/1.1\r\nHost: x\r\n") + kJsonHeaders +
                      "Transfer-Encoding: chunked\r\n\r\n");
  std::string chunk(256 * 1024, 'a');
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
  try {
    for (int i = 0; i < 32; ++i) connection.send_raw(std::string(size) + chunk + "\r\n");
    connection.send_raw("0\r\n\r\n");
  } catch (const std::exception&) {
  }
  auto response = connection.read_response();
  EXPECT_LT(Clock::now() - started, 3s);
  expect_json_fail(response, 413);
  EXPECT_TRUE(connection.is_closed_by_peer(2s));
  EXPECT_EQ(http_request(port(), "GET", "/ping").body, kPong);
}

// "GARBAGE" has no space, so a parser that waits for the method's end waits
// for the header timeout instead of refusing at the line's end.
TEST_F(Routing, MalformedRequestLine_Gets4xxPromptlyAndServiceStaysUp) {
  HttpConnection connection("127.0.0.1", port(), 3s);
  connection.send_raw("GARBAGE\r\n\r\n");
  auto started = Clock::now();
  HttpResponse response;
  EXPECT_NO_THROW(response = connection.read_response());
  EXPECT_LT(Clock::now() - started, 3s);
  EXPECT_GE(response.status, 400);
  EXPECT_LT(response.status, 500);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(http_request(port(), "GET", "/ping").body, kPong);
}

// RFC 9110 15.6.2 / 15.6.6: a method the server does not know is 501, an
// HTTP major version it does not speak is 505 (nginx answers both the same).
TEST_F(Routing, UnknownMethodOrVersion_Gets501Or505JsonAndServiceStaysUp) {
  for (const auto& [line, status] :
       std::vector<std::pair<std::string, int>>{{"GARBAGE / HTTP/1.1", 501},
                                                {"PROPFIND /users HTTP/1.1", 501},
                                                {"GET /ping HTTP/2.0", 505},
                                                {"G(T /ping HTTP/1.1", 400}}) {
    SCOPED_TRACE(line);
    HttpConnection connection("127.0.0.1", port(), 3s);
    connection.send_raw(line + "\r\nHost: x\r\n\r\n");
    expect_json_fail(connection.read_response(), status);
    EXPECT_TRUE(connection.is_closed_by_peer(2s));
  }
  EXPECT_EQ(http_request(port(), "GET", "/ping").body, kPong);
}

TEST_F(Routing, MalformedContentType_Gets400) {
  HttpConnection connection("127.0.0.1", port(), 3s);
  connection.send_raw("GET /ping HTTP/1.1\r\nHost: x\r\nContent-Type: nonsense\r\n\r\n");
  expect_json_fail(connection.read_response(), 400);
  EXPECT_EQ(http_request(port(), "GET", "/ping").status, 200);
}

// A malformed Content-Length is the client's error (400), not the server's.
TEST_F(Routing, MalformedContentLength_Gets400Not500) {
  for (const char* length : {"-1", "abc", "99999999999999999999999"}) {
    SCOPED_TRACE(length);
    HttpConnection connection("127.0.0.1", port(), 3s);
    connection.send_raw(std::string("POST /users HTTP/1.1\r\nHost: x\r\n") + kJsonHeaders +
                        "Content-Length: " + length + "\r\n\r\n");
    auto response = connection.read_response();
    EXPECT_EQ(response.status, 400) << response.body;
    EXPECT_EQ(response.header("Content-Type"), "application/json");
  }
  EXPECT_EQ(http_request(port(), "GET", "/ping").status, 200);
}

// --- static files and the HTML page ------------------------------------------------

TEST_F(Routing, GetStylesheet_Returns200CssWithCacheControl) {
  auto response = http_request(port(), "GET", "/static/style.css");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), "text/css; charset=utf-8");
  EXPECT_NE(response.header("Cache-Control").find("max-age="), std::string::npos);
  EXPECT_EQ(response.body, users::embedded_file("services/users/static/style.css"));
}

TEST_F(Routing, GetUnknownStaticFile_Returns404Json) {
  expect_json_fail(http_request(port(), "GET", "/static/nope.css"), 404);
  expect_json_fail(http_request(port(), "GET", "/static/../CMakeLists.txt"), 404);
}

TEST_F(Routing, GetIndex_DatabaseDown_Returns503Html) {
  auto started = Clock::now();
  auto response = http_request(port(), "GET", "/");
  EXPECT_LT(Clock::now() - started, 5s);
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(response.body.find("<html"), std::string::npos);
  EXPECT_THROW(response.json(), std::exception);
}

TEST_F(Routing, PostIndexForm_DatabaseDown_Returns503Html) {
  auto response = http_request(port(), "POST", "/", "username=a&email=a%40b.co",
                               {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(response.body.find("<html"), std::string::npos);
}

TEST_F(Routing, WrongMethodOnIndex_Returns405Html) {
  auto response = http_request(port(), "DELETE", "/");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(response.header("Allow"), "GET, HEAD, OPTIONS, POST");
}

TEST_F(Routing, Metrics_CountRouteTemplatesNotRawPaths) {
  http_request(port(), "GET", "/users/12345abc");
  http_request(port(), "GET", "/no/such/path/42");
  auto response = http_request(port(), "GET", "/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type").rfind("text/plain", 0), 0u);
  EXPECT_NE(response.body.find("route=\"/users/:id\",method=\"GET\",status=\"400\""),
            std::string::npos);
  EXPECT_NE(response.body.find("route=\"<unmatched>\""), std::string::npos);
  EXPECT_EQ(response.body.find("12345abc"), std::string::npos);
  EXPECT_EQ(response.body.find("/no/such"), std::string::npos);
}

// --- the route table alone (edge/router.hpp) ---------------------------------------

common::Route route_of(const std::string& method, const std::string& path) {
  return common::Route{method, path, [](const common::Request&) { return common::Response{}; },
                       common::json_error};
}

std::string label_of(const common::edge::Router& router, const std::string& method,
                     const std::string& path) {
  return router.match(method, path).endpoint->label;
}

// "Sessions" adds fixed routes beside "/users/:id": the fixed one must win
// whichever blueprint was mounted first.
TEST(RouteTable, FixedSegmentWinsOverParameter_WhicheverIsRegisteredFirst) {
  for (bool parameter_first : {true, false}) {
    SCOPED_TRACE(parameter_first ? "parameter first" : "fixed first");
    std::vector<common::Route> routes = {route_of("GET", "/users/:id"),
                                         route_of("GET", "/users/export")};
    if (!parameter_first) std::swap(routes[0], routes[1]);
    common::edge::Router router(routes);
    EXPECT_EQ(label_of(router, "GET", "/users/export"), "/users/export");
    EXPECT_TRUE(router.match("GET", "/users/export").params.empty());
    EXPECT_EQ(label_of(router, "GET", "/users/exports"), "/users/:id");
    EXPECT_EQ(label_of(router, "GET", "/users/42"), "/users/:id");
  }
}

// The fixed child is tried first, and a parameter still matches when the
// fixed child leads nowhere.
TEST(RouteTable, ParameterMatches_WhenTheFixedBranchHasNoRouteForTheRest) {
  common::edge::Router router(
      {route_of("GET", "/users/export"), route_of("GET", "/users/:id/tokens")});
  auto match = router.match("GET", "/users/export/tokens");
  EXPECT_EQ(match.endpoint->label, "/users/:id/tokens");
  ASSERT_EQ(match.params.size(), 1u);
  EXPECT_EQ(match.params[0].second, "export");
}

TEST(RouteTable, Parameters_ComeBackNamedWithoutColonAndStillEncoded) {
  common::edge::Router router({route_of("GET", "/a/:x/b/:y")});
  auto match = router.match("GET", "/a/1%2F2/b/y%20z");
  EXPECT_EQ(match.endpoint->label, "/a/:x/b/:y");
  using Params = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(match.params, (Params{{"x", "1%2F2"}, {"y", "y%20z"}}));
}

TEST(RouteTable, RootAndUnknownPaths) {
  common::edge::Router with_root({route_of("GET", "/"), route_of("GET", "/ping")});
  EXPECT_EQ(label_of(with_root, "GET", "/"), "/");
  EXPECT_EQ(label_of(with_root, "GET", "/nope"), "<unmatched>");
  EXPECT_EQ(label_of(with_root, "GET", "/ping/deeper"), "<unmatched>");
  common::edge::Router without_root({route_of("GET", "/ping")});
  EXPECT_EQ(label_of(without_root, "GET", "/"), "<unmatched>");
}

// Pistache's tree alone finds "users/" as "users" and lets a parameter
// match an empty segment; the canonical-path rule in front keeps them out.
TEST(RouteTable, NonCanonicalSpellings_AreNotFoundThoughTheTreeAloneWouldFindThem) {
  Pistache::Rest::SegmentTreeNode tree;
  std::shared_ptr<char> users(new char[5], std::default_delete<char[]>());
  std::copy_n("users", 5, users.get());
  tree.addRoute(std::string_view(users.get(), 5), {}, users);
  EXPECT_NE(std::get<0>(tree.findRoute("users/")), nullptr);

  common::edge::Router router({route_of("GET", "/users"), route_of("GET", "/users/:id")});
  for (const char* path : {"/users/", "//users", "/users//", "/users/./1", "/./users"}) {
    EXPECT_EQ(label_of(router, "GET", path), "<unmatched>") << path;
  }
}

TEST(RouteTable, EveryMethodOfAPath_IsAnswered) {
  common::edge::Router router({route_of("GET", "/users/:id"), route_of("PATCH", "/users/:id")});
  EXPECT_FALSE(router.match("GET", "/users/1").endpoint->head_only);
  EXPECT_TRUE(router.match("HEAD", "/users/1").endpoint->head_only);
  common::Request request;
  auto options = router.match("OPTIONS", "/users/1").endpoint->handler(request);
  EXPECT_EQ(options.status, 204);
  ASSERT_EQ(options.headers.size(), 1u);
  EXPECT_EQ(options.headers[0].second, "GET, HEAD, OPTIONS, PATCH");
  try {
    router.match("PUT", "/users/1").endpoint->handler(request);
    ADD_FAILURE() << "PUT was allowed";
  } catch (const common::HttpError& error) {
    EXPECT_EQ(error.status(), 405);
  }
}

// A template the tree would read differently from this router's contract
// fails at start-up, not on a request: without its '/', Pistache's
// sanitizeResource drops the first character ("ping" -> "ing").
TEST(RouteTable, TemplatesOutsideTheContract_AreRefusedAtStartUp) {
  EXPECT_EQ(Pistache::Rest::SegmentTreeNode::sanitizeResource("ping"), "ing");
  for (const char* path : {"ping", "", "/files/*", "/users/:id?", "/users/:"}) {
    EXPECT_THROW(common::edge::Router({route_of("GET", path)}), std::logic_error) << path;
  }
  EXPECT_THROW(
      common::edge::Router({route_of("GET", "/users/:id"), route_of("PATCH", "/users/:uid")}),
      std::logic_error);
  EXPECT_THROW(common::edge::Router({route_of("GET", "/ping"), route_of("GET", "/ping/")}),
               std::logic_error);
  EXPECT_THROW(common::edge::Router({route_of("BREW", "/ping")}), std::logic_error);
}

// --- concurrency: the router-map race ------------------------------------------------

// Pistache 0.0.5's router inserts into a map shared by every thread when a
// method has no route (the service has a route table of its own, built once
// and only read); many clients sending unusual methods at once on a fresh
// app must all be answered.
TEST(RoutingConcurrency, ManyThreadsOfUnusualMethods_AllAnsweredNoCrash) {
  auto app = users::create_app(unit::test_config());
  app->start();
  const int port = app->port();
  const char* const methods[] = {"PATCH", "DELETE", "TRACE", "OPTIONS", "PUT", "GET"};
  constexpr int kThreads = 64;
  constexpr int kRequests = 50;
  std::atomic<int> answered{0};
  std::atomic<int> server_errors{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(static_cast<unsigned>(t) * 7919u + 1u);
      std::unique_ptr<HttpConnection> connection;
      for (int i = 0; i < kRequests; ++i) {
        const char* method = methods[random() % 6];
        std::string path;
        switch (random() % 6) {
          case 0:
            path = "/users";
            break;
          case 1:
            path = "/users/" + std::to_string(random() % 100);
            break;
          case 2:
            path = "/ping";
            break;
          case 3:
            path = "/";
            break;
          default:
            path = "/r" + std::to_string(random()) + "/" + std::to_string(i);
        }
        // GET only where no database is involved: this test is about routing.
        if (std::string(method) == "GET" && path.rfind("/r", 0) != 0) path = "/ping";
        try {
          if (!connection) connection = std::make_unique<HttpConnection>("127.0.0.1", port, 5s);
          auto response = connection->request(method, path);
          if (response.status >= 200 && response.status < 600) answered.fetch_add(1);
          if (response.status >= 500) server_errors.fetch_add(1);
          if (iequals(response.header("Connection"), "close")) connection.reset();
        } catch (const std::exception&) {
          failures.fetch_add(1);
          connection.reset();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(answered.load(), kThreads * kRequests);
  EXPECT_EQ(server_errors.load(), 0);
  auto ping = http_request(port, "GET", "/ping");
  EXPECT_EQ(ping.status, 200);
  EXPECT_EQ(ping.body, kPong);
}

}  // namespace

// --- a database that hangs ---------------------------------------------------------

namespace {

// A "database" that accepts TCP connections and never says a word: libpq
// then waits in its connect until connect_timeout. What does not need the
// database must not notice; what does gets a 503 after a bounded wait.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd_, 64) != 0) {
      throw std::runtime_error("cannot listen");
    }
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace

TEST(HangingDatabase, PingAndLivenessStayFast_DatabaseRoutesGet503AfterABoundedWait) {
  SilentServer silent;
  auto config = unit::test_config(
      {{"DATABASE_TEST_URL", "postgresql://postgres@127.0.0.1:" + std::to_string(silent.port()) +
                                 "/users?connect_timeout=10"}});
  auto app = users::create_app(config);
  app->start();
  const int port = app->port();

  // Requests that need the database, on both loops, waiting for it meanwhile.
  std::vector<std::thread> waiting;
  std::atomic<int> answered_503{0};
  for (int i = 0; i < 4; ++i) {
    waiting.emplace_back([&] {
      auto started = Clock::now();
      auto response = http_request(port, "GET", "/users/1");
      if (response.status == 503 && Clock::now() - started < 5s) ++answered_503;
    });
  }
  std::this_thread::sleep_for(200ms);
  // The best of a few tries: a loaded machine may delay one, a blocked loop
  // would delay all of them by seconds.
  for (const char* path : {"/ping", "/health/live"}) {
    SCOPED_TRACE(path);
    auto best = std::chrono::steady_clock::duration::max();
    for (int i = 0; i < 5; ++i) {
      auto started = Clock::now();
      EXPECT_EQ(http_request(port, "GET", path).status, 200);
      best = std::min(best, Clock::now() - started);
    }
    EXPECT_LT(best, 10ms);
  }
  for (auto& thread : waiting) thread.join();
  EXPECT_EQ(answered_503.load(), 4);
}
