// The seed's test suite (the Flask original's), JSON side, over real HTTP on
// the in-process app against a real PostgreSQL.
#include <cstdio>
#include <ctime>
#include <regex>

#include "service_fixture.hpp"

namespace {

using fixture::expect_fail;
using fixture::ServiceTest;
using nlohmann::json;

// Seconds since the epoch of an ISO 8601 UTC timestamp like
// 2026-11-22T21:37:45Z; -1 when it is not one.
long long parse_utc(const std::string& text) {
  static const std::regex shape(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
  if (!std::regex_match(text, shape)) return -1;
  std::tm tm{};
  std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
              &tm.tm_min, &tm.tm_sec);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<long long>(::timegm(&tm));
}

TEST_F(ServiceTest, Ping_Returns200Pong) {
  auto response = get("/ping");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.json(), json({{"status", "success"}, {"message", "pong!"}}));
}

TEST_F(ServiceTest, PostUsers_Valid_Returns201AndStoresUser) {
  auto response = add_user("michael", "michael@realpython.com");
  EXPECT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.json(),
            json({{"status", "success"}, {"message", "michael@realpython.com was added!"}}));
  auto rows = fixture::execute("SELECT username, email, active FROM users");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "michael");
  EXPECT_EQ(rows[0][1].as<std::string>(), "michael@realpython.com");
  EXPECT_FALSE(rows[0][2].as<bool>());
}

TEST_F(ServiceTest, PostUsers_EmptyJsonObject_Returns400InvalidPayload) {
  expect_fail(post_json("/users", "{}"), 400, "Invalid payload.");
  EXPECT_EQ(user_count(), 0);
}

TEST_F(ServiceTest, PostUsers_MissingUsername_Returns400InvalidPayload) {
  expect_fail(post_json("/users", R"({"email":"michael@realpython.com"})"), 400,
              "Invalid payload.");
  EXPECT_EQ(user_count(), 0);
}

TEST_F(ServiceTest, PostUsers_MissingEmail_Returns400InvalidPayload) {
  expect_fail(post_json("/users", R"({"username":"michael"})"), 400, "Invalid payload.");
  EXPECT_EQ(user_count(), 0);
}

TEST_F(ServiceTest, PostUsers_DuplicateEmail_Returns400) {
  ASSERT_EQ(add_user("michael", "michael@realpython.com").status, 201);
  expect_fail(add_user("michael", "michael@realpython.com"), 400,
              "Sorry. That email already exists.");
  EXPECT_EQ(user_count(), 1);
}

TEST_F(ServiceTest, PostUsers_DuplicateEmailInOtherLetterCase_Returns400) {
  ASSERT_EQ(add_user("michael", "michael@realpython.com").status, 201);
  expect_fail(add_user("other", "MICHAEL@RealPython.COM"), 400,
              "Sorry. That email already exists.");
  expect_fail(add_user("other", "  Michael@realpython.com "), 400,
              "Sorry. That email already exists.");
  EXPECT_EQ(user_count(), 1);
}

TEST_F(ServiceTest, GetUser_Existing_Returns200WithItsData) {
  ASSERT_EQ(add_user("michael", "michael@realpython.com").status, 201);
  auto response = get("/users/1");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  auto body = response.json();
  EXPECT_EQ(body["status"], "success");
  auto data = body["data"];
  ASSERT_TRUE(data.is_object()) << response.body;
  EXPECT_EQ(data.size(), 5u) << data;  // id, username, email, active, created_at
  EXPECT_EQ(data["id"], 1);
  EXPECT_EQ(data["username"], "michael");
  EXPECT_EQ(data["email"], "michael@realpython.com");
  EXPECT_EQ(data["active"], false);
  ASSERT_TRUE(data["created_at"].is_string()) << data;
  long long created = parse_utc(data["created_at"].get<std::string>());
  ASSERT_GT(created, 0) << "not ISO 8601 UTC: " << data["created_at"];
  // UTC, not the server's local time: within a minute of this clock.
  EXPECT_LT(std::llabs(created - static_cast<long long>(std::time(nullptr))), 60)
      << data["created_at"];
}

TEST_F(ServiceTest, GetUser_IdNotAnInteger_Returns400ParamIdError) {
  expect_fail(get("/users/blah"), 400, "Param id error");
  expect_fail(get("/users/1.5"), 400, "Param id error");
  expect_fail(get("/users/1e3"), 400, "Param id error");
}

TEST_F(ServiceTest, GetUser_IdOutOfRange_Returns400ParamIdError) {
  ASSERT_EQ(add_user("michael", "michael@realpython.com").status, 201);
  expect_fail(get("/users/99999999999"), 400, "Param id error");
  expect_fail(get("/users/2147483648"), 400, "Param id error");
  expect_fail(get("/users/99999999999999999999999"), 400, "Param id error");
}

// "00000000001" is an integer (1) like "01" is: not a "Param id error".
TEST_F(ServiceTest, GetUser_IdWithLeadingZeros_FindsTheUser) {
  ASSERT_EQ(add_user("michael", "michael@realpython.com").status, 201);
  EXPECT_EQ(get("/users/01").status, 200);
  EXPECT_EQ(get("/users/0000000001").status, 200);
  auto response = get("/users/00000000001");
  EXPECT_EQ(response.status, 200) << response.body;
}

// Path parameters are percent-decoded before use (RFC 3986 2.1): "%31" is "1".
TEST_F(ServiceTest, GetUser_PercentEncodedId_FindsTheUser) {
  ASSERT_EQ(add_user("michael", "michael@realpython.com").status, 201);
  auto response = get("/users/%31");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.json()["data"]["id"], 1);
  expect_fail(get("/users/%00"), 400, "Malformed request target.");
}

TEST_F(ServiceTest, GetUser_Unknown_Returns404UserDoesNotExist) {
  expect_fail(get("/users/999"), 404, "User does not exist");
  expect_fail(get("/users/0"), 404, "User does not exist");
  expect_fail(get("/users/2147483647"), 404, "User does not exist");
}

TEST_F(ServiceTest, GetUsers_ReturnsAllInInsertionOrder) {
  ASSERT_EQ(add_user("michael", "michael@realpython.com").status, 201);
  ASSERT_EQ(add_user("fletcher", "fletcher@notreal.com").status, 201);
  ASSERT_EQ(add_user("anna", "anna@notreal.com").status, 201);
  auto response = get("/users");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  auto body = response.json();
  EXPECT_EQ(body["status"], "success");
  auto users = body["data"]["users"];
  ASSERT_EQ(users.size(), 3u) << response.body;
  const char* names[] = {"michael", "fletcher", "anna"};
  const char* emails[] = {"michael@realpython.com", "fletcher@notreal.com", "anna@notreal.com"};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(users[i]["id"], i + 1);
    EXPECT_EQ(users[i]["username"], names[i]);
    EXPECT_EQ(users[i]["email"], emails[i]);
    EXPECT_EQ(users[i]["active"], false);
    EXPECT_GT(parse_utc(users[i].value("created_at", "")), 0) << users[i];
  }
}

TEST_F(ServiceTest, GetUsers_NoUsers_ReturnsEmptyList) {
  auto response = get("/users");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.json(), json({{"status", "success"}, {"data", {{"users", json::array()}}}}));
}

}  // namespace
