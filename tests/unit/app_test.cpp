// The common::App and its blueprints, without the users service: how handler
// errors map to responses, what a handler sees of the request, the body
// limit, and route collection (Routes) on its own.
#include "common/app.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>

#include "common/event_loop.hpp"
#include "common/json_response.hpp"
#include "common/logging.hpp"
#include "common/pg_rows.hpp"
#include "support/http_client.hpp"
#include "unit_app.hpp"

namespace {

using namespace std::chrono_literals;
using support::http_request;
using support::HttpConnection;

const char* const kInternalError = R"({"message":"Internal server error.","status":"fail"})";

// A blueprint that fails on purpose in every way a handler can.
class FailingBlueprint : public common::Blueprint {
 public:
  void register_routes(common::Routes& routes) override {
    routes.get("/boom", [](const common::Request&) -> common::Response {
      throw std::runtime_error("SELECT password FROM secrets");
    });
    routes.get("/teapot", [](const common::Request&) -> common::Response {
      throw common::HttpError(418, "x");
    });
    routes.get("/slow-down", [](const common::Request&) -> common::Response {
      throw common::HttpError(429, "Too many requests.", {{"Retry-After", "7"}});
    });
    routes.get("/db-down", [](const common::Request&) -> common::Response {
      throw common::DatabaseUnavailable("Database unavailable.");
    });
    routes.get("/not-std", [](const common::Request&) -> common::Response { throw 42; });
    routes.get("/plain", [](const common::Request&) {
      common::Response response;
      response.status = 202;
      response.content_type = "text/plain; charset=utf-8";
      response.body = "accepted";
      response.headers.emplace_back("Location", "/elsewhere");
      return response;
    });
    routes.post("/size", [](const common::Request& request) {
      return common::success_message(200, std::to_string(request.body.size()));
    });
    routes.post("/echo/:id", [](const common::Request& request) {
      return common::success_data(200, {{"method", request.method},
                                        {"path", request.path},
                                        {"body", std::string(request.body)},
                                        {"content_type", request.content_type},
                                        {"request_id", request.request_id},
                                        {"id", request.param("id")},
                                        {"missing", request.param("nope")}});
    });
    routes.on_error([](const common::Request&, int, const std::string&) -> common::Response {
      throw std::runtime_error("the renderer broke");
    });
    routes.get("/bad-renderer", [](const common::Request&) -> common::Response {
      throw common::HttpError(409, "Conflict here.");
    });
    routes.on_error(common::json_error);
    // Throws after its fiber was suspended and resumed (as after a database call).
    routes.get("/boom-after-wait", [](const common::Request&) -> common::Response {
      common::run_off_loop([] {});
      throw std::runtime_error("UPDATE users SET password = 'x'");
    });
  }
};

class AppErrors : public unit::AppSuite<AppErrors> {
 protected:
  static void SetUpTestSuite() {
    auto config = unit::test_config({{"MAX_BODY_BYTES", "64"}});
    common::setup_logging(config);
    auto app = std::make_unique<common::App>(config);
    app->mount(std::make_shared<FailingBlueprint>());
    serve(std::move(app));
  }
};

TEST_F(AppErrors, HandlerThrowingStdException_Returns500GenericJson) {
  auto response = http_request(port(), "GET", "/boom");
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.body, kInternalError);
  EXPECT_EQ(response.body.find("SELECT"), std::string::npos);
  EXPECT_EQ(response.body.find("secrets"), std::string::npos);
}

TEST_F(AppErrors, HandlerThrowingAfterSuspending_Returns500GenericJson) {
  auto response = http_request(port(), "GET", "/boom-after-wait");
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body, kInternalError);
  EXPECT_EQ(response.body.find("password"), std::string::npos);
}

TEST_F(AppErrors, HandlerThrowingNonStdException_Returns500GenericJson) {
  auto response = http_request(port(), "GET", "/not-std");
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body, kInternalError);
}

TEST_F(AppErrors, HandlerThrowingHttpError418_Returns418Json) {
  auto response = http_request(port(), "GET", "/teapot");
  EXPECT_EQ(response.status, 418);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.body, R"({"message":"x","status":"fail"})");
}

TEST_F(AppErrors, HttpErrorHeaders_AreSent) {
  auto response = http_request(port(), "GET", "/slow-down");
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.header("Retry-After"), "7");
  EXPECT_EQ(response.json()["message"], "Too many requests.");
}

// The database layer's error is not an HTTP one: the dispatcher, the HTTP
// boundary, answers it 503 with Retry-After in the route's error format.
TEST_F(AppErrors, DatabaseUnavailable_Returns503WithRetryAfter) {
  auto response = http_request(port(), "GET", "/db-down");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.header("Retry-After"), "1");
  EXPECT_EQ(response.body, R"({"message":"Database unavailable.","status":"fail"})");
}

TEST(DatabaseErrors, DatabaseUnavailable_IsNoHttpError) {
  static_assert(!std::is_base_of_v<common::HttpError, common::DatabaseUnavailable>);
  static_assert(std::is_base_of_v<std::exception, common::DatabaseUnavailable>);
  EXPECT_STREQ(common::DatabaseUnavailable("Database busy.").what(), "Database busy.");
}

TEST_F(AppErrors, ThrowingErrorRenderer_FallsBackToJson) {
  auto response = http_request(port(), "GET", "/bad-renderer");
  EXPECT_EQ(response.status, 409);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.body, R"({"message":"Conflict here.","status":"fail"})");
}

TEST_F(AppErrors, ServiceStaysUpAfterHandlerErrors) {
  for (int i = 0; i < 20; ++i) EXPECT_EQ(http_request(port(), "GET", "/boom").status, 500);
  EXPECT_EQ(http_request(port(), "GET", "/plain").status, 202);
}

TEST_F(AppErrors, HandlerContentTypeAndHeaders_AreSent) {
  auto response = http_request(port(), "GET", "/plain");
  EXPECT_EQ(response.status, 202);
  EXPECT_EQ(response.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(response.header("Location"), "/elsewhere");
  EXPECT_EQ(response.body, "accepted");
  EXPECT_EQ(response.header("X-Request-ID").size(), 32u);
}

TEST_F(AppErrors, HandlerSeesMethodPathBodyMediaTypeParamsAndRequestId) {
  auto response = http_request(
      port(), "POST", "/echo/42", "hello",
      {{"Content-Type", "Application/JSON; charset=UTF-8"}, {"X-Request-ID", "req-7"}});
  ASSERT_EQ(response.status, 200) << response.body;
  auto data = response.json()["data"];
  EXPECT_EQ(data["method"], "POST");
  EXPECT_EQ(data["path"], "/echo/42");
  EXPECT_EQ(data["body"], "hello");
  EXPECT_EQ(data["content_type"], "application/json");
  EXPECT_EQ(data["request_id"], "req-7");
  EXPECT_EQ(data["id"], "42");
  EXPECT_EQ(data["missing"], "");
}

TEST_F(AppErrors, UnknownPathOnABareApp_Returns404Json) {
  auto response = http_request(port(), "GET", "/nothing-here");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.json()["status"], "fail");
}

// "/size" has no GET: HEAD there is a 405, and still has no body.
TEST_F(AppErrors, HeadOnAPathWithoutGet_Returns405WithoutBody) {
  auto exchange = unit::head_then_ping(port(), "/size");
  EXPECT_EQ(unit::status_of(exchange.head), 405) << exchange.head;
  EXPECT_NE(exchange.head.find("Allow: "), std::string::npos) << exchange.head;
  EXPECT_EQ(exchange.after.rfind("HTTP/1.1 ", 0), 0u) << "after HEAD: " << exchange.after;
}

// --- the body limit (MAX_BODY_BYTES=64 here) -------------------------------------

TEST_F(AppErrors, BodyAtTheLimit_IsAccepted) {
  auto response = http_request(port(), "POST", "/size", std::string(64, 'x'));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.json()["message"], "64");
}

TEST_F(AppErrors, BodyOneByteOverTheLimit_Returns413JsonAndCloses) {
  HttpConnection connection("127.0.0.1", port(), 3s);
  auto response = connection.request("POST", "/size", std::string(65, 'x'));
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.body, R"({"message":"Request body too large.","status":"fail"})");
  EXPECT_TRUE(connection.is_closed_by_peer(2s));
}

TEST_F(AppErrors, ContentLengthOverTheLimit_IsRefusedBeforeTheBody) {
  HttpConnection connection("127.0.0.1", port(), 3s);
  connection.send_raw("POST /size HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n\r\n");
  EXPECT_EQ(connection.read_response().status, 413);
}

TEST_F(AppErrors, ChunkedBodyOverTheLimit_Returns413) {
  HttpConnection connection("127.0.0.1", port(), 3s);
  connection.send_raw(
      "POST /size HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "41\r\n" +
      std::string(65, 'x') + "\r\n0\r\n\r\n");
  EXPECT_EQ(connection.read_response().status, 413);
}

// --- mounting and route collection ----------------------------------------------------

class PrefixedBlueprint : public common::Blueprint {
 public:
  void register_routes(common::Routes& routes) override {
    routes.get("/", [](const common::Request&) { return common::success_message(200, "root"); })
        .get("/item/:id", [](const common::Request& request) {
          return common::success_message(200, request.param("id"));
        });
  }
};

TEST(AppMount, PrefixIsPrependedToEveryRoute) {
  common::App app(unit::test_config());
  app.mount(std::make_shared<PrefixedBlueprint>(), "/api/v1");
  ASSERT_EQ(app.routes().size(), 2u);
  EXPECT_EQ(app.routes()[0].path, "/api/v1");
  EXPECT_EQ(app.routes()[1].path, "/api/v1/item/:id");
  app.start();
  EXPECT_EQ(http_request(app.port(), "GET", "/api/v1").json()["message"], "root");
  EXPECT_EQ(http_request(app.port(), "GET", "/api/v1/item/9").json()["message"], "9");
  EXPECT_EQ(http_request(app.port(), "GET", "/item/9").status, 404);
}

TEST(AppMount, SameRouteTwice_IsRefusedAtStart) {
  common::App app(unit::test_config());
  app.mount(std::make_shared<PrefixedBlueprint>());
  app.mount(std::make_shared<PrefixedBlueprint>());
  EXPECT_THROW(app.start(), std::logic_error);
}

TEST(AppMount, PortZero_PicksAFreePort) {
  common::App app(unit::test_config());
  app.mount(std::make_shared<PrefixedBlueprint>());
  EXPECT_EQ(app.port(), 0);  // not started
  app.start();
  EXPECT_GT(app.port(), 0);
  EXPECT_EQ(http_request(app.port(), "GET", "/").status, 200);
}

TEST(AppMount, Shutdown_StopsServingAndIsIdempotent) {
  common::App app(unit::test_config());
  app.mount(std::make_shared<PrefixedBlueprint>());
  app.start();
  int port = app.port();
  EXPECT_EQ(http_request(port, "GET", "/").status, 200);
  app.shutdown(1s);
  EXPECT_TRUE(app.draining());
  EXPECT_THROW(http_request(port, "GET", "/"), std::exception);
  app.shutdown(1s);
}

// Answers are written straight to the socket, so a client can read one and
// ask /metrics before the answering thread runs again: a request is reported
// before its answer leaves. A slow observer makes the old order (write, then
// report) fail every time.
class SlowCountingObserver : public common::RequestObserver {
 public:
  void on_request(const common::RequestRecord&) override {
    std::this_thread::sleep_for(200ms);
    seen.fetch_add(1);
  }
  std::atomic<int> seen{0};
};

TEST(AppObservers, RequestIsReportedBeforeItsAnswerReachesTheClient) {
  common::App app(unit::test_config());
  app.mount(std::make_shared<PrefixedBlueprint>());
  auto observer = std::make_shared<SlowCountingObserver>();
  app.add_observer(observer);
  app.start();
  EXPECT_EQ(http_request(app.port(), "GET", "/").status, 200);
  EXPECT_EQ(observer->seen.load(), 1);
  EXPECT_EQ(http_request(app.port(), "GET", "/no/such/route").status, 404);
  EXPECT_EQ(observer->seen.load(), 2);
}

TEST(Routes, PrefixAndPathAreJoinedWithoutATrailingSlash) {
  auto ok = [](const common::Request&) { return common::Response{}; };
  common::Routes routes("/api");
  routes.get("/users/", ok).post("/", ok).put("/x", ok).patch("/y", ok).del("/z", ok);
  const auto& list = routes.routes();
  ASSERT_EQ(list.size(), 5u);
  EXPECT_EQ(list[0].method, "GET");
  EXPECT_EQ(list[0].path, "/api/users");
  EXPECT_EQ(list[1].method, "POST");
  EXPECT_EQ(list[1].path, "/api");
  EXPECT_EQ(list[2].method, "PUT");
  EXPECT_EQ(list[3].method, "PATCH");
  EXPECT_EQ(list[4].method, "DELETE");
  EXPECT_EQ(list[4].path, "/api/z");
}

TEST(Routes, RootWithoutPrefix_StaysRoot) {
  common::Routes routes;
  routes.get("/", [](const common::Request&) { return common::Response{}; });
  EXPECT_EQ(routes.routes().at(0).path, "/");
}

TEST(Routes, OnError_AppliesOnlyToLaterRoutes) {
  auto ok = [](const common::Request&) { return common::Response{}; };
  common::Routes routes;
  routes.get("/a", ok);
  routes.on_error([](const common::Request&, int status, const std::string&) {
    common::Response response;
    response.status = status;
    response.content_type = "text/html; charset=utf-8";
    return response;
  });
  routes.get("/b", ok);
  const auto& list = routes.routes();
  ASSERT_EQ(list.size(), 2u);
  common::Request request;
  EXPECT_EQ(list[0].render_error(request, 404, "x").content_type, "application/json");
  EXPECT_EQ(list[1].render_error(request, 404, "x").content_type, "text/html; charset=utf-8");
}

TEST(Routes, DefaultErrorRenderer_IsTheJsonFailBody) {
  common::Request request;
  auto response = common::json_error(request, 404, "User does not exist");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body, R"({"message":"User does not exist","status":"fail"})");
}

TEST(HttpErrors, ServiceUnavailable_Is503WithRetryAfter) {
  common::ServiceUnavailable error;
  EXPECT_EQ(error.status(), 503);
  ASSERT_EQ(error.headers().size(), 1u);
  EXPECT_EQ(error.headers()[0].first, "Retry-After");
  EXPECT_EQ(error.headers()[0].second, "1");
  EXPECT_STREQ(error.what(), "Service unavailable.");
}

// --- SECURITY_HEADERS ------------------------------------------------------------

int count_fields(const support::HttpResponse& response, const std::string& name) {
  int count = 0;
  for (const auto& [field, value] : response.headers) {
    if (field.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size(); ++i) {
      same = same && std::tolower(static_cast<unsigned char>(field[i])) ==
                         std::tolower(static_cast<unsigned char>(name[i]));
    }
    count += same ? 1 : 0;
  }
  return count;
}

void expect_security_headers(const support::HttpResponse& response) {
  EXPECT_EQ(response.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(response.header("X-Frame-Options"), "DENY");
  EXPECT_EQ(response.header("Referrer-Policy"), "no-referrer");
  EXPECT_NE(response.header("Content-Security-Policy").find("default-src 'none'"),
            std::string::npos);
  EXPECT_EQ(count_fields(response, "Content-Security-Policy"), 1);
}

class HeadersBlueprint : public common::Blueprint {
 public:
  void register_routes(common::Routes& routes) override {
    routes.get("/ok", [](const common::Request&) { return common::success_message(200, "ok"); });
    routes.get("/own-csp", [](const common::Request&) {
      auto response = common::success_message(200, "ok");
      response.headers.emplace_back("Content-Security-Policy", "default-src 'self'");
      return response;
    });
    routes.get("/boom", [](const common::Request&) -> common::Response {
      throw std::runtime_error("broken");
    });
  }
};

template <typename Suite>
class HeadersSuite : public unit::AppSuite<Suite> {
 protected:
  static void start_with(const std::string& security_headers) {
    auto config = unit::test_config({{"MAX_BODY_BYTES", "64"}});
    if (!security_headers.empty()) {
      config =
          unit::test_config({{"MAX_BODY_BYTES", "64"}, {"SECURITY_HEADERS", security_headers}});
    }
    auto app = std::make_unique<common::App>(config);
    app->mount(std::make_shared<HeadersBlueprint>());
    unit::AppSuite<Suite>::serve(std::move(app));
  }
};

class SecurityHeadersOn : public HeadersSuite<SecurityHeadersOn> {
 protected:
  static void SetUpTestSuite() { start_with(""); }  // the default
};

class SecurityHeadersOff : public HeadersSuite<SecurityHeadersOff> {
 protected:
  static void SetUpTestSuite() { start_with("false"); }
};

TEST_F(SecurityHeadersOn, EveryAnswer_CarriesThemOnce) {
  expect_security_headers(http_request(port(), "GET", "/ok"));
  expect_security_headers(http_request(port(), "GET", "/boom"));     // handler error
  expect_security_headers(http_request(port(), "GET", "/no/such"));  // 404
  expect_security_headers(http_request(port(), "DELETE", "/ok"));    // 405
  HttpConnection connection("127.0.0.1", port(), 3s);                // refused by the edge
  auto refused = connection.request("POST", "/ok", std::string(65, 'x'));
  EXPECT_EQ(refused.status, 413);
  expect_security_headers(refused);
}

TEST_F(SecurityHeadersOn, AHandlersOwnPolicy_Wins) {
  auto response = http_request(port(), "GET", "/own-csp");
  EXPECT_EQ(response.header("Content-Security-Policy"), "default-src 'self'");
  EXPECT_EQ(count_fields(response, "Content-Security-Policy"), 1);
  EXPECT_EQ(response.header("X-Frame-Options"), "DENY");
}

TEST_F(SecurityHeadersOff, NoAnswer_CarriesThem) {
  for (const char* path : {"/ok", "/boom", "/no/such"}) {
    auto response = http_request(port(), "GET", path);
    EXPECT_FALSE(response.has_header("Content-Security-Policy")) << path;
    EXPECT_FALSE(response.has_header("X-Frame-Options")) << path;
    EXPECT_FALSE(response.has_header("X-Content-Type-Options")) << path;
    EXPECT_FALSE(response.has_header("Referrer-Policy")) << path;
  }
}

}  // namespace
