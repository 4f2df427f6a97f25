// Validation of user input: pure functions, no database.
#include "validation.hpp"

#include <gtest/gtest.h>

namespace {

using users::parse_new_user_json;
using users::parse_user_id;

TEST(Validation, Trim_RemovesAsciiWhitespaceAtBothEnds) {
  EXPECT_EQ(users::trim("  a b \t\n"), "a b");
  EXPECT_EQ(users::trim("   "), "");
}

TEST(Validation, Utf8_LengthCountsCharactersNotBytes) {
  EXPECT_EQ(users::utf8_length("Zoë"), 3u);
  EXPECT_EQ(users::utf8_length("日本🚀"), 3u);
  EXPECT_TRUE(users::is_valid_utf8("Zoë 日本 🚀"));
  EXPECT_FALSE(users::is_valid_utf8("\xc3"));
  EXPECT_FALSE(users::is_valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(users::is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(users::is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(Validation, Email_AcceptsLocalAtDomainTld) {
  EXPECT_TRUE(users::is_valid_email("a@b.co"));
  EXPECT_TRUE(users::is_valid_email("michael@realpython.com"));
  EXPECT_TRUE(users::is_valid_email("first.last+tag@sub.example.org"));
  EXPECT_TRUE(users::is_valid_email("zoë@example.com"));
}

TEST(Validation, Email_RefusesMalformedAddresses) {
  for (const char* email : {"", "plain", "a@", "@b.co", "a@@b.co", "a@b@c.co", "a b@c.co", "a@b",
                            "a@b.", "a@.b.co", "a@b..co", "a@b.c", "a@b.co\n"}) {
    EXPECT_FALSE(users::is_valid_email(email)) << email;
  }
}

TEST(Validation, NewUser_TrimsAndAcceptsUpTo128Characters) {
  auto result = users::validate_new_user("  " + std::string(128, 'x') + " ", " a@b.co ");
  ASSERT_TRUE(result.user);
  EXPECT_EQ(result.user->username, std::string(128, 'x'));
  EXPECT_EQ(result.user->email, "a@b.co");
  std::string wide;
  for (int i = 0; i < 128; ++i) wide += "日";
  EXPECT_TRUE(users::validate_new_user(wide, "a@b.co").user);
}

TEST(Validation, NewUser_RefusesBlankLongOrControlCharacters) {
  EXPECT_FALSE(users::validate_new_user("   ", "a@b.co").user);
  EXPECT_FALSE(users::validate_new_user("a", "").user);
  EXPECT_FALSE(users::validate_new_user(std::string(129, 'x'), "a@b.co").user);
  EXPECT_FALSE(users::validate_new_user("a", std::string(121, 'x') + "@b.co.uk").user);
  EXPECT_FALSE(users::validate_new_user(std::string("a\0b", 3), "a@b.co").user);
  EXPECT_FALSE(users::validate_new_user("a\x1b[31m", "a@b.co").user);
  EXPECT_FALSE(users::validate_new_user("\xff\xfe", "a@b.co").user);
  auto result = users::validate_new_user("", "a@b.co");
  EXPECT_EQ(result.message, "Username is required.");
}

TEST(Validation, JsonPayload_AcceptsObjectWithStringFields) {
  auto user = parse_new_user_json(R"({"username":"michael","email":"m@x.io","extra":[1,{}]})");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->username, "michael");
  EXPECT_EQ(user->email, "m@x.io");
}

TEST(Validation, JsonPayload_RefusesEverythingElse) {
  for (const char* body :
       {"", " ", "{", "nope", "[]", "[{\"username\":\"a\",\"email\":\"a@b.co\"}]", "42", "null",
        "\"str\"", "{}", R"({"username":"a"})", R"({"email":"a@b.co"})",
        R"({"username":1,"email":"a@b.co"})", R"({"username":"a","email":null})",
        R"({"username":["a"],"email":"a@b.co"})", R"({"username":" ","email":"a@b.co"})",
        R"({"username":"a","email":"a@b.co"} trailing)"}) {
    EXPECT_FALSE(parse_new_user_json(body)) << body;
  }
}

TEST(Validation, JsonPayload_DeepNestingIsRefusedWithoutCrashing) {
  std::string deep(100000, '[');
  EXPECT_FALSE(parse_new_user_json(deep));
  std::string nested = R"({"username":"a","email":"a@b.co","x":)" + std::string(5000, '[') +
                       std::string(5000, ']') + "}";
  EXPECT_FALSE(parse_new_user_json(nested));
}

TEST(Validation, UserId_ParsesIntegersInInt4Range) {
  EXPECT_EQ(parse_user_id("1"), 1);
  EXPECT_EQ(parse_user_id("2147483647"), 2147483647);
  EXPECT_EQ(parse_user_id("-1"), -1);
  EXPECT_EQ(parse_user_id("0"), 0);
}

TEST(Validation, UserId_RefusesNonIntegersAndOverflow) {
  for (const char* text : {"", "-", "abc", "1a", "1.0", " 1", "1 ", "+1", "2147483648",
                           "-2147483649", "99999999999999999999", "0x10"}) {
    EXPECT_FALSE(parse_user_id(text)) << text;
  }
}

}  // namespace
