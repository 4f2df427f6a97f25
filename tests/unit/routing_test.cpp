// Routing and the HTTP edge of the real app, with the database unreachable
// (nothing listens on its port): what must work without it works, what needs
// it answers 503 fast. Plus the Pistache sharp edges.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "app_factory.hpp"
#include "common/app.hpp"
#include "support/free_port.hpp"
#include "support/http_client.hpp"

namespace {

using support::http_request;
using Clock = std::chrono::steady_clock;

common::Config config_with(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> vars = {
      {"APP_ENV", "testing"},
      {"DATABASE_TEST_URL",
       "postgresql://postgres@127.0.0.1:" + std::to_string(support::free_port()) + "/none"},
      {"HOST", "127.0.0.1"},
      {"PORT", "0"},
      {"THREADS", "2"},
      {"LOG_LEVEL", "off"}};
  for (auto& [key, value] : extra) vars[key] = value;
  return common::Config::from_lookup([vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

class Routing : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    app_ = users::create_app(config_with()).release();
    app_->start();
  }
  static void TearDownTestSuite() {
    delete app_;
    app_ = nullptr;
  }
  static int port() { return app_->port(); }
  static common::App* app_;
};
common::App* Routing::app_ = nullptr;

void expect_json_fail(const support::HttpResponse& response, int status) {
  EXPECT_EQ(response.status, status) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.json()["status"], "fail");
}

TEST_F(Routing, Ping_Returns200Pong) {
  auto response = http_request(port(), "GET", "/ping");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.body, R"({"message":"pong!","status":"success"})");
}

TEST_F(Routing, UnknownPath_Returns404Json) {
  expect_json_fail(http_request(port(), "GET", "/nope"), 404);
  expect_json_fail(http_request(port(), "DELETE", "/nope/deeper"), 404);
}

TEST_F(Routing, EveryRequestGetsExactlyOneResponse) {
  // On one keep-alive connection, as nginx's upstream uses it: a stray second
  // response to any request would be read as the answer to the next one.
  support::HttpConnection connection("127.0.0.1", port());
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"GET", "/nope"},  {"DELETE", "/users"}, {"GET", "/users/abc"}, {"OPTIONS", "/ping"},
      {"HEAD", "/ping"}, {"PUT", "/ping"},     {"GET", "/a/b/c"},     {"POST", "/users"}};
  for (const auto& [method, path] : requests) {
    SCOPED_TRACE(method + " " + path);
    auto response = connection.request(method, path);
    EXPECT_GE(response.status, 200);
    auto ping = connection.request("GET", "/ping");
    EXPECT_EQ(ping.status, 200);
    EXPECT_EQ(ping.body, R"({"message":"pong!","status":"success"})");
  }
  EXPECT_FALSE(connection.is_closed_by_peer(std::chrono::milliseconds(100)));
}

TEST_F(Routing, PipelinedRequests_FirstAnsweredThenClosedNotHung) {
  // Pistache 0.0.5 cannot serve a second request sent in the same packet; the
  // service answers the first with Connection: close instead of hanging.
  support::HttpConnection connection("127.0.0.1", port());
  connection.send_raw("GET /ping HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  auto started = Clock::now();
  auto first = connection.read_response();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.header("Connection"), "Close");
  EXPECT_TRUE(connection.is_closed_by_peer(std::chrono::seconds(2)));
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(3));
  EXPECT_EQ(http_request(port(), "GET", "/ping").status, 200);
}

TEST_F(Routing, WrongMethod_Returns405JsonWithAllow) {
  auto response = http_request(port(), "DELETE", "/users");
  expect_json_fail(response, 405);
  EXPECT_EQ(response.header("Allow"), "GET, HEAD, OPTIONS, POST");
  auto put = http_request(port(), "PUT", "/ping");
  expect_json_fail(put, 405);
  EXPECT_EQ(put.header("Allow"), "GET, HEAD, OPTIONS");
}

TEST_F(Routing, Head_AnswersLikeGetWithoutBody) {
  support::HttpConnection connection("127.0.0.1", port());
  connection.send_raw("HEAD /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  auto response = connection.read_response();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "");
  // The connection is still usable: no stray body bytes were sent.
  EXPECT_EQ(connection.request("GET", "/ping").status, 200);
}

TEST_F(Routing, Options_Returns204WithAllow) {
  auto response = http_request(port(), "OPTIONS", "/users/5");
  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(response.header("Allow"), "GET, HEAD, OPTIONS");
}

TEST_F(Routing, DatabaseDown_Returns503JsonPromptly) {
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/users"}, {"GET", "/users/1"}}) {
    auto started = Clock::now();
    auto response = http_request(port(), method, path);
    EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
    expect_json_fail(response, 503);
    EXPECT_EQ(response.header("Retry-After"), "1");
  }
  auto post = http_request(port(), "POST", "/users", R"({"username":"a","email":"a@b.co"})",
                           {{"Content-Type", "application/json"}});
  expect_json_fail(post, 503);
  EXPECT_EQ(http_request(port(), "GET", "/health/ready").status, 503);
  EXPECT_EQ(http_request(port(), "GET", "/health/live").status, 200);
}

TEST_F(Routing, BadInputs_AreRefusedBeforeTheDatabase) {
  auto bad_id = http_request(port(), "GET", "/users/abc");
  expect_json_fail(bad_id, 400);
  EXPECT_EQ(bad_id.json()["message"], "Param id error");
  auto bad_payload =
      http_request(port(), "POST", "/users", "{}", {{"Content-Type", "application/json"}});
  expect_json_fail(bad_payload, 400);
  EXPECT_EQ(bad_payload.json()["message"], "Invalid payload.");
}

TEST_F(Routing, RequestId_EchoedWhenSafeReplacedOtherwise) {
  auto echoed = http_request(port(), "GET", "/ping", "", {{"X-Request-ID", "trace-42"}});
  EXPECT_EQ(echoed.header("X-Request-ID"), "trace-42");
  for (const std::string& bad : {std::string("bad id!"), std::string(300, 'a')}) {
    auto replaced = http_request(port(), "GET", "/ping", "", {{"X-Request-ID", bad}});
    EXPECT_NE(replaced.header("X-Request-ID"), bad);
    EXPECT_EQ(replaced.header("X-Request-ID").size(), 32u);
  }
  EXPECT_TRUE(http_request(port(), "GET", "/nope").has_header("X-Request-ID"));
}

TEST_F(Routing, KeepAlive_TwoRequestsShareOneSocket) {
  support::HttpConnection connection("127.0.0.1", port());
  auto first = connection.request("GET", "/ping");
  auto second = connection.request("GET", "/ping");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(second.status, 200);
  EXPECT_TRUE(first.header("Connection") == "Keep-Alive" ||
              first.header("Connection") == "keep-alive");
  EXPECT_EQ(first.header("Connection"), second.header("Connection"));
  EXPECT_FALSE(connection.is_closed_by_peer(std::chrono::milliseconds(200)));
}

TEST_F(Routing, ConnectionClose_IsHonoured) {
  support::HttpConnection connection("127.0.0.1", port());
  auto response = connection.request("GET", "/ping", "", {{"Connection", "close"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Connection"), "Close");
  EXPECT_TRUE(connection.is_closed_by_peer(std::chrono::seconds(2)));
}

TEST_F(Routing, OversizedBody_Prompt413JsonAndConnectionClosed) {
  std::string body(8 * 1024 * 1024, 'a');
  auto started = Clock::now();
  support::HttpConnection connection("127.0.0.1", port());
  connection.send_raw(
      "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n");
  try {
    connection.send_raw(body);  // the server may close before it has all of it
  } catch (const std::exception&) {
  }
  auto response = connection.read_response();
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(3));
  expect_json_fail(response, 413);
  EXPECT_TRUE(connection.is_closed_by_peer(std::chrono::seconds(2)));
  EXPECT_EQ(http_request(port(), "GET", "/ping").status, 200);
}

TEST_F(Routing, OversizedChunkedBody_Gets413) {
  support::HttpConnection connection("127.0.0.1", port());
  connection.send_raw(
      "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n");
  std::string chunk(256 * 1024, 'a');
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
  try {
    for (int i = 0; i < 8; ++i) connection.send_raw(std::string(size) + chunk + "\r\n");
  } catch (const std::exception&) {
  }
  auto response = connection.read_response();
  expect_json_fail(response, 413);
  EXPECT_EQ(http_request(port(), "GET", "/ping").status, 200);
}

TEST_F(Routing, MalformedRequest_Gets400AndServiceStaysUp) {
  support::HttpConnection connection("127.0.0.1", port());
  connection.send_raw("GET /ping HTTP/1.1\r\nHost: x\r\nContent-Type: nonsense\r\n\r\n");
  auto response = connection.read_response();
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(http_request(port(), "GET", "/ping").status, 200);
}

TEST_F(Routing, ConcurrentUnusualMethods_NoCrash) {
  const char* methods[] = {"PATCH", "DELETE", "TRACE", "OPTIONS", "PUT", "HEAD", "POST", "GET"};
  const char* paths[] = {"/x", "/users", "/users/1", "/ping", "/a/b/c", "/", "/static/none"};
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(static_cast<unsigned>(t));
      support::HttpConnection connection("127.0.0.1", port());
      for (int i = 0; i < 50; ++i) {
        auto response = connection.request(methods[random() % 8], paths[random() % 7]);
        if (response.status > 0) answered.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(answered.load(), 16 * 50);
  EXPECT_EQ(http_request(port(), "GET", "/ping").status, 200);
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
  EXPECT_NE(response.body.find("db_pool_connections"), std::string::npos);
}

TEST_F(Routing, SlowClients_DoNotPinTheWorkers) {
  // Many half-sent requests (slowloris) are held by the event loop, not by a
  // worker: a normal request is still served at once.
  std::vector<std::unique_ptr<support::HttpConnection>> slow;
  for (int i = 0; i < 100; ++i) {
    slow.push_back(std::make_unique<support::HttpConnection>("127.0.0.1", port()));
    slow.back()->send_raw("GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  }
  auto started = Clock::now();
  EXPECT_EQ(http_request(port(), "GET", "/ping").status, 200);
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(1));
}

TEST_F(Routing, Stylesheet_IsServedWithCacheHeaders) {
  auto response = http_request(port(), "GET", "/static/style.css");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), "text/css; charset=utf-8");
  EXPECT_NE(response.header("Cache-Control").find("max-age"), std::string::npos);
  EXPECT_FALSE(response.body.empty());
}

TEST_F(Routing, PageRoutes_AnswerErrorsInHtml) {
  auto response = http_request(port(), "GET", "/");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(response.body.find("<html"), std::string::npos);
}

// A blueprint that fails on purpose, mounted on a bare App.
class FailingBlueprint : public common::Blueprint {
 public:
  void register_routes(common::Routes& routes) override {
    routes.get("/boom", [](const common::Request&) -> common::Response {
      throw std::runtime_error("SELECT password FROM secrets");
    });
    routes.get("/teapot", [](const common::Request&) -> common::Response {
      throw common::HttpError(418, "I'm a teapot.");
    });
  }
};

TEST(AppErrors, HandlerException_Generic500WithoutDetails) {
  common::App app(config_with());
  app.mount(std::make_shared<FailingBlueprint>());
  app.start();
  auto response = http_request(app.port(), "GET", "/boom");
  expect_json_fail(response, 500);
  EXPECT_EQ(response.json()["message"], "Internal server error.");
  EXPECT_EQ(response.body.find("SELECT"), std::string::npos);
  auto teapot = http_request(app.port(), "GET", "/teapot");
  expect_json_fail(teapot, 418);
  EXPECT_EQ(teapot.json()["message"], "I'm a teapot.");
}

TEST(AppErrors, SmallBodyLimit_IsEnforced) {
  common::App app(config_with({{"MAX_BODY_BYTES", "64"}}));
  app.mount(std::make_shared<FailingBlueprint>());
  app.start();
  auto response = http_request(app.port(), "POST", "/boom", std::string(65, 'x'));
  expect_json_fail(response, 413);
}

}  // namespace
