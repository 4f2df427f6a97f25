// JSON shaping: the User model and the {"status", "message"/"data"} bodies.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/json_response.hpp"
#include "user.hpp"

namespace {

using nlohmann::json;

users::User sample_user() {
  return users::User{7, "michael", "m@x.io", true, "2026-11-22T21:37:45Z"};
}

TEST(UserJson, HasExactlyTheContractKeys) {
  json body = sample_user();
  ASSERT_TRUE(body.is_object());
  EXPECT_EQ(body.size(), 5u);
  for (const char* key : {"id", "username", "email", "active", "created_at"}) {
    EXPECT_TRUE(body.contains(key)) << key;
  }
}

TEST(UserJson, ValuesHaveTheContractTypes) {
  json body = sample_user();
  EXPECT_TRUE(body["id"].is_number_integer());
  EXPECT_TRUE(body["username"].is_string());
  EXPECT_TRUE(body["email"].is_string());
  EXPECT_TRUE(body["active"].is_boolean());
  EXPECT_TRUE(body["created_at"].is_string());
  EXPECT_EQ(body, json({{"id", 7},
                        {"username", "michael"},
                        {"email", "m@x.io"},
                        {"active", true},
                        {"created_at", "2026-11-22T21:37:45Z"}}));
}

TEST(UserJson, InactiveUser_HasActiveFalse) {
  auto user = sample_user();
  user.active = false;
  EXPECT_EQ(json(user)["active"], false);
}

// The hand-written writer of the hot read paths and nlohmann agree byte for
// byte, on any text a user may have.
TEST(UserJson, FastWriter_MatchesNlohmannDump) {
  const std::string names[] = {"michael",
                               "Zoë 日本 🚀",
                               "quote\" back\\slash /",
                               "tab\tnew\nline\r\b\f",
                               std::string("ctl\x01\x1f\x7f", 6),
                               "<img src=x onerror=alert(1)>",
                               ""};
  for (const auto& name : names) {
    for (bool active : {true, false}) {
      users::User user{2147483647, name, "e\"mail@x.io", active, "2026-11-22T21:37:45Z"};
      std::string fast;
      users::append_json(fast, user);
      EXPECT_EQ(fast, json(user).dump()) << name;
      EXPECT_EQ(json::parse(fast), json(user)) << name;
    }
  }
}

// An admin's view: the public object plus email_verified, in nlohmann's order.
TEST(UserJson, AdminWriter_IsThePublicObjectPlusEmailVerified) {
  for (bool verified : {true, false}) {
    users::User user{7, "quote\" name", "a@b.co", true, "2026-11-22T21:37:45Z"};
    user.email_verified = verified;
    std::string fast;
    users::append_admin_json(fast, user);
    json expected = json(user);
    EXPECT_FALSE(expected.contains("email_verified")) << "the public object never has it";
    expected["email_verified"] = verified;
    EXPECT_EQ(fast, expected.dump());
  }
}

TEST(UserJson, FastWriter_NegativeAndZeroIds) {
  for (long long id : {0LL, -1LL, -2147483648LL}) {
    users::User user{id, "a", "a@b.co", false, "x"};
    std::string fast;
    users::append_json(fast, user);
    EXPECT_EQ(fast, json(user).dump());
  }
}

TEST(JsonResponse, SuccessMessage_ExactBody) {
  auto response = common::success_message(201, "a@b.co was added!");
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"message":"a@b.co was added!","status":"success"})");
  EXPECT_TRUE(response.headers.empty());
}

TEST(JsonResponse, Pong_ExactBody) {
  EXPECT_EQ(common::success_message(200, "pong!").body,
            R"({"message":"pong!","status":"success"})");
}

TEST(JsonResponse, SuccessData_ExactBody) {
  auto response = common::success_data(200, {{"users", json::array()}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"data":{"users":[]},"status":"success"})");
}

TEST(JsonResponse, SuccessDataWithAUser_NestsTheUser) {
  auto response = common::success_data(200, json(sample_user()));
  EXPECT_EQ(json::parse(response.body), json({{"status", "success"}, {"data", sample_user()}}));
}

TEST(JsonResponse, Fail_ExactBody) {
  auto response = common::fail(404, "User does not exist");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"message":"User does not exist","status":"fail"})");
  EXPECT_EQ(common::fail(400, "Invalid payload.").body,
            R"({"message":"Invalid payload.","status":"fail"})");
  EXPECT_EQ(common::fail(400, "Param id error").body,
            R"({"message":"Param id error","status":"fail"})");
}

TEST(JsonResponse, SpecialCharactersInAMessage_AreEscaped) {
  auto response = common::fail(400, "say \"hi\"\n\\ </script>");
  EXPECT_EQ(json::parse(response.body)["message"], "say \"hi\"\n\\ </script>");
}

TEST(JsonResponse, InvalidUtf8InAMessage_DoesNotThrowAndStaysJson) {
  common::Response response;
  ASSERT_NO_THROW(response = common::fail(400, "bad \xff\xfe byte"));
  json parsed;
  ASSERT_NO_THROW(parsed = json::parse(response.body));
  EXPECT_EQ(parsed["status"], "fail");
  auto message = parsed["message"].get<std::string>();
  EXPECT_EQ(message.rfind("bad ", 0), 0u);
  EXPECT_NE(message.find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD replacement
  EXPECT_NO_THROW(common::success_message(200, "\xc3"));
  EXPECT_NO_THROW(common::success_data(200, json("\x80")));
}

TEST(JsonResponse, SuccessRawData_WrapsPreSerialisedJson) {
  auto response = common::success_raw_data(200, R"({"users":[]})");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"data":{"users":[]},"status":"success"})");
}

TEST(JsonResponse, AppendJsonString_MatchesNlohmann) {
  for (const std::string& text : {std::string("plain"), std::string("q\"b\\"),
                                  std::string("\x01\x1f\n\t", 4), std::string("日本")}) {
    std::string out;
    common::append_json_string(out, text);
    EXPECT_EQ(out, json(text).dump()) << text;
  }
}

}  // namespace
