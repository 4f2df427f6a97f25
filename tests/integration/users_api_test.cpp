// The seed's test suite and the bad inputs, over HTTP on a real PostgreSQL.
#include <regex>
#include <thread>

#include "service_fixture.hpp"

namespace {

using fixture::ServiceTest;
using nlohmann::json;

void expect_fail(const support::HttpResponse& response, int status, const std::string& message) {
  EXPECT_EQ(response.status, status) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  auto body = response.json();
  EXPECT_EQ(body["status"], "fail");
  EXPECT_EQ(body["message"], message);
}

TEST_F(ServiceTest, Ping_ReturnsPong) {
  auto response = get("/ping");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.json(), json({{"status", "success"}, {"message", "pong!"}}));
}

TEST_F(ServiceTest, PostUsers_Valid_Returns201AndStoresUser) {
  auto response = add_user("michael", "michael@sonotreal.com");
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.json(),
            json({{"status", "success"}, {"message", "michael@sonotreal.com was added!"}}));
  EXPECT_EQ(user_count(), 1);
}

TEST_F(ServiceTest, PostUsers_EmptyJson_Returns400) {
  expect_fail(post_json("/users", "{}"), 400, "Invalid payload.");
}

TEST_F(ServiceTest, PostUsers_MissingUsername_Returns400) {
  expect_fail(post_json("/users", R"({"email":"michael@sonotreal.com"})"), 400, "Invalid payload.");
}

TEST_F(ServiceTest, PostUsers_MissingEmail_Returns400) {
  expect_fail(post_json("/users", R"({"username":"michael"})"), 400, "Invalid payload.");
}

TEST_F(ServiceTest, PostUsers_DuplicateEmail_Returns400) {
  ASSERT_EQ(add_user("michael", "michael@sonotreal.com").status, 201);
  expect_fail(add_user("michael", "michael@sonotreal.com"), 400,
              "Sorry. That email already exists.");
  expect_fail(add_user("other", "MICHAEL@SoNotReal.com"), 400, "Sorry. That email already exists.");
  EXPECT_EQ(user_count(), 1);
}

TEST_F(ServiceTest, GetUser_Existing_ReturnsItsData) {
  ASSERT_EQ(add_user("michael", "michael@sonotreal.com").status, 201);
  auto response = get("/users/1");
  ASSERT_EQ(response.status, 200);
  auto body = response.json();
  EXPECT_EQ(body["status"], "success");
  EXPECT_EQ(body["data"]["id"], 1);
  EXPECT_EQ(body["data"]["username"], "michael");
  EXPECT_EQ(body["data"]["email"], "michael@sonotreal.com");
  EXPECT_EQ(body["data"]["active"], false);
  EXPECT_TRUE(std::regex_match(body["data"]["created_at"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << body["data"]["created_at"];
}

TEST_F(ServiceTest, GetUser_NotAnInteger_Returns400) {
  expect_fail(get("/users/blah"), 400, "Param id error");
  expect_fail(get("/users/1.5"), 400, "Param id error");
  expect_fail(get("/users/99999999999"), 400, "Param id error");
}

TEST_F(ServiceTest, GetUser_Unknown_Returns404) {
  expect_fail(get("/users/999"), 404, "User does not exist");
  expect_fail(get("/users/-1"), 404, "User does not exist");
}

TEST_F(ServiceTest, GetUsers_ReturnsAllInInsertionOrder) {
  ASSERT_EQ(add_user("michael", "michael@realpython.com").status, 201);
  ASSERT_EQ(add_user("fletcher", "fletcher@realpython.com").status, 201);
  ASSERT_EQ(add_user("anna", "anna@realpython.com").status, 201);
  auto response = get("/users");
  ASSERT_EQ(response.status, 200);
  auto users = response.json()["data"]["users"];
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[0]["username"], "michael");
  EXPECT_EQ(users[1]["username"], "fletcher");
  EXPECT_EQ(users[2]["username"], "anna");
  EXPECT_EQ(users[1]["email"], "fletcher@realpython.com");
}

TEST_F(ServiceTest, PostUsers_BadPayloads_Return400AndStoreNothing) {
  const std::string bodies[] = {
      "",
      "{",
      "not json",
      "[]",
      R"(["username","email"])",
      "42",
      "null",
      R"({"username":1,"email":"a@b.co"})",
      R"({"username":"a","email":null})",
      R"({"username":"   ","email":"a@b.co"})",
      R"({"username":"a","email":"not-an-email"})",
      R"({"username":"a","email":"a b@c.co"})",
      R"({"username":")" + std::string(129, 'x') + R"(","email":"a@b.co"})",
      R"({"username":"a\u0000b","email":"a@b.co"})"};
  for (const auto& body : bodies) {
    SCOPED_TRACE(body);
    expect_fail(post_json("/users", body), 400, "Invalid payload.");
  }
  EXPECT_EQ(user_count(), 0);
}

TEST_F(ServiceTest, PostUsers_NonJsonContentType_Returns400) {
  const std::string body = R"({"username":"a","email":"a@b.co"})";
  expect_fail(
      support::http_request(port(), "POST", "/users", body, {{"Content-Type", "text/plain"}}), 400,
      "Invalid payload.");
  expect_fail(support::http_request(port(), "POST", "/users", body), 400, "Invalid payload.");
  EXPECT_EQ(user_count(), 0);
}

TEST_F(ServiceTest, PostUsers_TrimsFieldsAnd128CharactersFit) {
  std::string name(128, 'n');
  ASSERT_EQ(add_user("  " + name + " ", " trim@example.com  ").status, 201);
  auto user = get("/users/1").json()["data"];
  EXPECT_EQ(user["username"], name);
  EXPECT_EQ(user["email"], "trim@example.com");
}

TEST_F(ServiceTest, PostUsers_UnicodeRoundTripsUnchanged) {
  const std::string name = "Zoë 日本 🚀";
  ASSERT_EQ(add_user(name, "zoe@example.com").status, 201);
  EXPECT_EQ(get("/users/1").json()["data"]["username"], name);
  EXPECT_EQ(get("/users").json()["data"]["users"][0]["username"], name);
}

TEST_F(ServiceTest, PostUsers_ConcurrentSameEmail_CreatesExactlyOne) {
  constexpr int kClients = 32;
  std::vector<support::HttpResponse> responses(kClients);
  std::vector<std::unique_ptr<support::HttpConnection>> connections;
  for (int i = 0; i < kClients; ++i) {
    connections.push_back(std::make_unique<support::HttpConnection>("127.0.0.1", port()));
  }
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  const std::string body = R"({"username":"racer","email":"race@example.com"})";
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < kClients) std::this_thread::yield();
      responses[i] =
          connections[i]->request("POST", "/users", body, {{"Content-Type", "application/json"}});
    });
  }
  for (auto& thread : threads) thread.join();
  int created = 0;
  int duplicates = 0;
  for (const auto& response : responses) {
    if (response.status == 201) ++created;
    if (response.status == 400 &&
        response.json()["message"] == "Sorry. That email already exists.") {
      ++duplicates;
    }
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(duplicates, kClients - 1);
  EXPECT_EQ(user_count(), 1);
}

TEST_F(ServiceTest, PostUsers_ConcurrentDistinctEmails_LosesNothing) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      support::HttpConnection connection("127.0.0.1", port());
      for (int i = 0; i < kPerThread; ++i) {
        std::string email = "u" + std::to_string(t) + "-" + std::to_string(i) + "@example.com";
        auto response =
            connection.request("POST", "/users", json{{"username", "u"}, {"email", email}}.dump(),
                               {{"Content-Type", "application/json"}});
        if (response.status == 201) created.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(created.load(), kThreads * kPerThread);
  EXPECT_EQ(user_count(), kThreads * kPerThread);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new fixture::Environment);
  return RUN_ALL_TESTS();
}
