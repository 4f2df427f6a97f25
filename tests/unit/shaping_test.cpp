// JSON bodies, forms and request ids.
#include <gtest/gtest.h>

#include "common/form.hpp"
#include "common/json_response.hpp"
#include "common/request_id.hpp"
#include "user.hpp"

namespace {

using nlohmann::json;

TEST(JsonShape, User_HasTheContractKeys) {
  users::User user{7, "michael", "m@x.io", false, "2026-11-22T21:37:45Z"};
  json body = user;
  EXPECT_EQ(body, json({{"id", 7},
                        {"username", "michael"},
                        {"email", "m@x.io"},
                        {"active", false},
                        {"created_at", "2026-11-22T21:37:45Z"}}));
}

TEST(JsonShape, Responses_HaveStatusAndMessageOrData) {
  auto ok = common::success_message(201, "a@b.co was added!");
  EXPECT_EQ(ok.status, 201);
  EXPECT_EQ(ok.content_type, "application/json");
  EXPECT_EQ(json::parse(ok.body), json({{"status", "success"}, {"message", "a@b.co was added!"}}));
  auto data = common::success_data(200, {{"users", json::array()}});
  EXPECT_EQ(json::parse(data.body),
            json({{"status", "success"}, {"data", {{"users", json::array()}}}}));
  auto failure = common::fail(404, "User does not exist");
  EXPECT_EQ(json::parse(failure.body),
            json({{"status", "fail"}, {"message", "User does not exist"}}));
}

TEST(JsonShape, InvalidUtf8InAMessage_DoesNotThrow) {
  common::Response response;
  EXPECT_NO_THROW(response = common::fail(400, "bad \xff byte"));
  EXPECT_NO_THROW(json::parse(response.body));
}

TEST(Form, DecodesPlusAndPercentEscapes) {
  auto form = common::parse_form("username=a+b%21&email=m%40x.io&&empty=&flag");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->at("username"), "a b!");
  EXPECT_EQ(form->at("email"), "m@x.io");
  EXPECT_EQ(form->at("empty"), "");
  EXPECT_EQ(form->at("flag"), "");
}

TEST(Form, RepeatedKeyKeepsTheFirstValue) {
  EXPECT_EQ(common::parse_form("a=1&a=2")->at("a"), "1");
}

TEST(Form, MalformedEscapesAreRefused) {
  EXPECT_FALSE(common::parse_form("a=%"));
  EXPECT_FALSE(common::parse_form("a=%4"));
  EXPECT_FALSE(common::parse_form("a=%zz"));
  EXPECT_FALSE(common::url_decode("%G1"));
}

TEST(RequestId, AcceptsShortSafeIds) {
  EXPECT_TRUE(common::is_valid_request_id("abc-123_X.y:z"));
  EXPECT_TRUE(common::is_valid_request_id(std::string(128, 'a')));
}

TEST(RequestId, RefusesUnsafeOrLongIds) {
  for (const std::string& id : {std::string(""), std::string("bad id"), std::string("a\nb"),
                                std::string("<x>"), std::string(129, 'a'), std::string("é")}) {
    EXPECT_FALSE(common::is_valid_request_id(id)) << id;
  }
}

TEST(RequestId, GeneratedIdsAreValidAndDistinct) {
  auto a = common::new_request_id();
  auto b = common::new_request_id();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_TRUE(common::is_valid_request_id(a));
  EXPECT_NE(a, b);
}

}  // namespace

namespace {

// The fast writer and nlohmann must agree byte for byte, on any text.
TEST(JsonShape, FastUserWriter_MatchesNlohmannDump) {
  const std::string names[] = {"michael",
                               "Zoë 日本 🚀",
                               "quote\" back\\slash",
                               "tab\tnew\nline",
                               std::string("ctl\x01\x1f", 5),
                               "<img src=x onerror=alert(1)>",
                               ""};
  for (const auto& name : names) {
    users::User user{2147483647, name, "e\"mail@x.io", true, "2026-11-22T21:37:45Z"};
    std::string fast;
    users::append_json(fast, user);
    EXPECT_EQ(fast, nlohmann::json(user).dump()) << name;
    user.active = false;
    fast.clear();
    users::append_json(fast, user);
    EXPECT_EQ(fast, nlohmann::json(user).dump()) << name;
  }
  auto wrapped = common::success_raw_data(200, "[1]");
  EXPECT_EQ(nlohmann::json::parse(wrapped.body),
            nlohmann::json({{"status", "success"}, {"data", {1}}}));
}

}  // namespace
