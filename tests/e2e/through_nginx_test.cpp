// The contract end to end: client -> nginx (prod template) -> users-service
// binary -> PostgreSQL.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "stack.hpp"
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

}  // namespace
