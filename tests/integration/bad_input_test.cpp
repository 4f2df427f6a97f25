// Bad input on the JSON API: every rejected request answers the contract's
// 400 and creates no user; accepted input is trimmed and stored unchanged.
#include "service_fixture.hpp"

namespace {

using fixture::expect_fail;
using fixture::ServiceTest;
using nlohmann::json;

const std::string kValidBody = R"({"username":"michael","email":"michael@realpython.com"})";

std::string user_json(const std::string& username, const std::string& email) {
  return json{{"username", username}, {"email", email}}.dump();
}

std::string repeat(const std::string& piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

void expect_all_rejected(const std::vector<std::string>& bodies) {
  for (const auto& body : bodies) {
    SCOPED_TRACE("body: " + body);
    fixture::expect_fail(support::http_request(fixture::service().app->port(), "POST", "/users",
                                               body, {{"Content-Type", "application/json"}}),
                         400, "Invalid payload.");
  }
}

using BadInput = ServiceTest;

TEST_F(BadInput, PostUsers_EmptyBody_Returns400InvalidPayload) {
  expect_fail(post_json("/users", ""), 400, "Invalid payload.");
  EXPECT_EQ(user_count(), 0);
}

TEST_F(BadInput, PostUsers_MalformedJson_Returns400InvalidPayload) {
  expect_all_rejected({"{", "not json", R"({"username":"a","email":"a@b.co")",
                       R"({"username":"a","email":"a@b.co"}trailing)",
                       R"({"username":'a',"email":'a@b.co'})", R"({username:"a",email:"a@b.co"})",
                       "{\"username\":\"\xff\",\"email\":\"a@b.co\"}",
                       R"({"username":"bad\ud83d","email":"a@b.co"})"});
  EXPECT_EQ(user_count(), 0);
}

TEST_F(BadInput, PostUsers_NotAnObject_Returns400InvalidPayload) {
  expect_all_rejected({"[]", "[" + kValidBody + "]", R"(["michael","michael@realpython.com"])",
                       "42", "null", "true", R"("michael@realpython.com")"});
  EXPECT_EQ(user_count(), 0);
}

TEST_F(BadInput, PostUsers_WrongTypes_Returns400InvalidPayload) {
  expect_all_rejected({R"({"username":1,"email":"a@b.co"})", R"({"username":"a","email":null})",
                       R"({"username":null,"email":"a@b.co"})",
                       R"({"username":["a"],"email":"a@b.co"})",
                       R"({"username":{"first":"a"},"email":"a@b.co"})",
                       R"({"username":true,"email":"a@b.co"})", R"({"username":"a","email":7})"});
  EXPECT_EQ(user_count(), 0);
}

TEST_F(BadInput, PostUsers_MissingKey_Returns400InvalidPayload) {
  expect_all_rejected({R"({"username":"a"})", R"({"email":"a@b.co"})",
                       R"({"user":"a","mail":"a@b.co"})", R"({"Username":"a","Email":"a@b.co"})"});
  EXPECT_EQ(user_count(), 0);
}

TEST_F(BadInput, PostUsers_TextPlainContentType_Returns400InvalidPayload) {
  expect_fail(post("/users", kValidBody, {{"Content-Type", "text/plain"}}), 400,
              "Invalid payload.");
  EXPECT_EQ(user_count(), 0);
}

TEST_F(BadInput, PostUsers_FormContentType_Returns400InvalidPayload) {
  expect_fail(post("/users", kValidBody, {{"Content-Type", "application/x-www-form-urlencoded"}}),
              400, "Invalid payload.");
  expect_fail(post("/users", "username=michael&email=michael%40realpython.com",
                   {{"Content-Type", "application/x-www-form-urlencoded"}}),
              400, "Invalid payload.");
  expect_fail(post("/users", kValidBody, {{"Content-Type", "multipart/form-data; boundary=x"}}),
              400, "Invalid payload.");
  EXPECT_EQ(user_count(), 0);
}

TEST_F(BadInput, PostUsers_NoContentType_Returns400InvalidPayload) {
  expect_fail(post("/users", kValidBody, {}), 400, "Invalid payload.");
  EXPECT_EQ(user_count(), 0);
}

TEST_F(BadInput, PostUsers_JsonContentTypeWithCharset_Returns201) {
  auto response = post("/users", kValidBody, {{"Content-Type", "application/json; charset=utf-8"}});
  EXPECT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(user_count(), 1);
}

TEST_F(BadInput, PostUsers_EmptyOrWhitespaceOnlyFields_Returns400InvalidPayload) {
  expect_all_rejected({user_json("", "a@b.co"), user_json("a", ""), user_json("   ", "a@b.co"),
                       user_json("a", "   "), user_json("\t\r\n ", "a@b.co"),
                       user_json("a", " \t\n")});
  EXPECT_EQ(user_count(), 0);
}

TEST_F(BadInput, PostUsers_129CharacterFields_Returns400InvalidPayload) {
  const std::string email_129 = repeat("e", 129 - 12) + "@example.com";
  ASSERT_EQ(email_129.size(), 129u);
  expect_all_rejected({user_json(repeat("u", 129), "a@b.co"),
                       user_json(repeat("日", 129), "a@b.co"),
                       user_json(repeat("🚀", 129), "a@b.co"), user_json("a", email_129)});
  EXPECT_EQ(user_count(), 0);
}

TEST_F(BadInput, PostUsers_128CharacterFields_AreStored) {
  const std::string ascii = repeat("u", 128);
  const std::string wide = repeat("日", 128);  // 128 characters, 384 bytes
  const std::string email_128 = repeat("e", 128 - 12) + "@example.com";
  ASSERT_EQ(add_user(ascii, email_128).status, 201);
  const std::string astral = repeat("🚀", 128);  // 128 characters, 512 bytes
  ASSERT_EQ(add_user(wide, "wide@example.com").status, 201);
  ASSERT_EQ(add_user(astral, "astral@example.com").status, 201);
  EXPECT_EQ(get("/users/1").json()["data"]["username"], ascii);
  EXPECT_EQ(get("/users/1").json()["data"]["email"], email_128);
  EXPECT_EQ(get("/users/2").json()["data"]["username"], wide);
  EXPECT_EQ(get("/users/3").json()["data"]["username"], astral);
}

TEST_F(BadInput, PostUsers_InvalidEmailOrControlCharacters_Returns400InvalidPayload) {
  expect_all_rejected({user_json("a", "not-an-email"), user_json("a", "a b@c.co"),
                       user_json("a", "a@@b.co"), user_json("a", "@b.co"),
                       user_json(std::string("a\0b", 3), "a@b.co"), user_json("a\x07", "a@b.co")});
  EXPECT_EQ(user_count(), 0);
}

TEST_F(BadInput, PostUsers_PaddedFields_AreTrimmedOnStore) {
  auto response = add_user("  michael\t", " \tmichael@realpython.com  \n");
  ASSERT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(response.json()["message"], "michael@realpython.com was added!");
  auto rows = fixture::execute("SELECT username, email FROM users");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "michael");
  EXPECT_EQ(rows[0][1].as<std::string>(), "michael@realpython.com");
  auto data = get("/users/1").json()["data"];
  EXPECT_EQ(data["username"], "michael");
  EXPECT_EQ(data["email"], "michael@realpython.com");
}

TEST_F(BadInput, PostUsers_UnicodeUsername_RoundTripsUnchanged) {
  const std::string name = "Zoë 日本 🚀";
  ASSERT_EQ(add_user(name, "zoe@example.com").status, 201);
  // The same name sent as JSON \u escapes (with a surrogate pair).
  auto escaped = post_json(
      "/users", R"({"username":"Zo\u00eb \u65e5\u672c \ud83d\ude80","email":"zoe2@example.com"})");
  ASSERT_EQ(escaped.status, 201) << escaped.body;
  EXPECT_EQ(get("/users/1").json()["data"]["username"], name);
  EXPECT_EQ(get("/users/2").json()["data"]["username"], name);
  auto users = get("/users").json()["data"]["users"];
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0]["username"], name);
  EXPECT_EQ(fixture::execute("SELECT username FROM users WHERE id = 1")[0][0].as<std::string>(),
            name);
}

TEST_F(BadInput, PostUsers_SqlInFields_StoredLiterally) {
  const std::string name = "Robert'); DROP TABLE users;--";
  const std::string email = "o'brien@example.com";
  ASSERT_EQ(add_user(name, email).status, 201);
  auto data = get("/users/1").json()["data"];
  EXPECT_EQ(data["username"], name);
  EXPECT_EQ(data["email"], email);
  EXPECT_EQ(user_count(), 1);
}

TEST_F(BadInput, PostUsers_AfterAllRejections_ServiceStillHealthy) {
  expect_all_rejected({"", "{", "[]", R"({"username":1})"});
  EXPECT_EQ(get("/ping").status, 200);
  EXPECT_EQ(add_user("michael", "michael@realpython.com").status, 201);
  EXPECT_EQ(user_count(), 1);
}

}  // namespace
