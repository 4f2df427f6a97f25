// Validation of user input (services/users/src/validation.hpp): pure
// functions, no database, no server.
#include "validation.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using users::is_valid_email;
using users::is_valid_utf8;
using users::parse_new_user_json;
using users::parse_user_id;
using users::trim;
using users::utf8_length;
using users::validate_new_user;

std::string repeat(const std::string& piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

std::string payload(const std::string& username, const std::string& email) {
  return R"({"username":")" + username + R"(","email":")" + email + R"("})";
}

// --- trim -------------------------------------------------------------------

TEST(Trim, AsciiWhitespaceAtBothEnds_IsRemoved) {
  EXPECT_EQ(trim("  a b \t\n"), "a b");
  EXPECT_EQ(trim("\r\n\f\vx\v"), "x");
}

TEST(Trim, InnerWhitespace_IsKept) {
  EXPECT_EQ(trim(" a  b "), "a  b");
}

TEST(Trim, OnlyWhitespace_BecomesEmpty) {
  EXPECT_EQ(trim("   \t "), "");
  EXPECT_EQ(trim(""), "");
}

TEST(Trim, MultiByteCharactersAtTheEdges_AreKept) {
  EXPECT_EQ(trim(" Zoë "), "Zoë");
  EXPECT_EQ(trim("日本"), "日本");
}

// --- UTF-8 ------------------------------------------------------------------

TEST(Utf8, WellFormedText_IsValid) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("Zoë 日本 🚀"));
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the last code point
}

TEST(Utf8, MalformedSequences_AreInvalid) {
  const std::vector<std::string> bad = {
      "\xc3",              // truncated 2-byte sequence
      "a\xe6\x97",         // truncated 3-byte sequence at the end
      "\xf0\x9f\x9a",      // truncated 4-byte sequence
      "\x80",              // lone continuation byte
      "\xff\xfe",          // bytes that never occur in UTF-8
      "\xc0\xaf",          // overlong '/'
      "\xe0\x80\xaf",      // overlong, 3 bytes
      "\xed\xa0\x80",      // UTF-16 surrogate
      "\xf4\x90\x80\x80",  // past U+10FFFF
      "\xc3\x28",          // continuation byte missing
  };
  for (const auto& text : bad) EXPECT_FALSE(is_valid_utf8(text)) << testing::PrintToString(text);
}

TEST(Utf8, Length_CountsCharactersNotBytes) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("Zoë"), 3u);
  EXPECT_EQ(utf8_length("日本🚀"), 3u);
}

// --- field rules ------------------------------------------------------------

TEST(ValidateNewUser, ValidFields_AreTrimmed) {
  auto result = validate_new_user("  michael ", "\tm@x.io \n");
  ASSERT_TRUE(result.user) << result.message;
  EXPECT_EQ(result.user->username, "michael");
  EXPECT_EQ(result.user->email, "m@x.io");
  EXPECT_EQ(result.message, "");
}

TEST(ValidateNewUser, Username128Characters_IsAccepted) {
  auto result = validate_new_user(std::string(128, 'x'), "a@b.co");
  ASSERT_TRUE(result.user) << result.message;
  EXPECT_EQ(result.user->username.size(), 128u);
}

TEST(ValidateNewUser, Username129Characters_IsRefused) {
  auto result = validate_new_user(std::string(129, 'x'), "a@b.co");
  EXPECT_FALSE(result.user);
  EXPECT_EQ(result.message, "Username must be at most 128 characters.");
}

TEST(ValidateNewUser, Username128MultiByteCharacters_IsAccepted) {
  // 128 characters, 384 and 512 bytes: the limit is in characters.
  EXPECT_TRUE(validate_new_user(repeat("日", 128), "a@b.co").user);
  EXPECT_TRUE(validate_new_user(repeat("🚀", 128), "a@b.co").user);
}

TEST(ValidateNewUser, Username129MultiByteCharacters_IsRefused) {
  EXPECT_FALSE(validate_new_user(repeat("日", 129), "a@b.co").user);
  EXPECT_FALSE(validate_new_user(repeat("ë", 129), "a@b.co").user);
}

TEST(ValidateNewUser, PaddingBeyond128_IsTrimmedBeforeCounting) {
  EXPECT_TRUE(validate_new_user("   " + std::string(128, 'x') + "   ", "a@b.co").user);
}

TEST(ValidateNewUser, Email128Characters_IsAcceptedAnd129Refused) {
  std::string email128 = std::string(122, 'e') + "@b.com";  // 122 + 6
  ASSERT_EQ(email128.size(), 128u);
  EXPECT_TRUE(validate_new_user("a", email128).user);
  std::string email129 = "e" + email128;
  auto result = validate_new_user("a", email129);
  EXPECT_FALSE(result.user);
  EXPECT_EQ(result.message, "Email must be at most 128 characters.");
}

TEST(ValidateNewUser, EmptyOrBlankFields_AreRequired) {
  EXPECT_EQ(validate_new_user("", "a@b.co").message, "Username is required.");
  EXPECT_EQ(validate_new_user(" \t ", "a@b.co").message, "Username is required.");
  EXPECT_EQ(validate_new_user("a", "").message, "Email is required.");
  EXPECT_EQ(validate_new_user("a", "   ").message, "Email is required.");
  EXPECT_FALSE(validate_new_user("   ", "  ").user);
}

TEST(ValidateNewUser, AsciiControlCharacters_AreRefused) {
  const std::vector<std::string> names = {std::string("a\0b", 3), "a\x1b[31mred", "a\x7f",
                                          "line\nbreak",          "tab\there",    "bell\a"};
  for (const auto& name : names) {
    auto result = validate_new_user(name, "a@b.co");
    EXPECT_FALSE(result.user) << testing::PrintToString(name);
    EXPECT_EQ(result.message, "Username contains invalid characters.");
  }
  EXPECT_EQ(validate_new_user("a", std::string("a\0@b.co", 7)).message,
            "Email contains invalid characters.");
}

// Unicode's C1 controls (U+0080..U+009F, category Cc) are control characters
// too: U+009B is a one-character terminal CSI, U+0085 a line break (NEL).
TEST(ValidateNewUser, UnicodeC1ControlCharacters_AreRefused) {
  const std::vector<std::string> names = {
      "a\xc2\x85"
      "b",
      "a\xc2\x9b"
      "31mred",
      "a\xc2\x80"};
  for (const auto& name : names) {
    ASSERT_TRUE(is_valid_utf8(name));
    EXPECT_FALSE(validate_new_user(name, "a@b.co").user) << testing::PrintToString(name);
  }
}

TEST(ValidateNewUser, InvalidUtf8_IsRefused) {
  auto result = validate_new_user("\xff\xfe", "a@b.co");
  EXPECT_FALSE(result.user);
  EXPECT_EQ(result.message, "Username contains invalid characters.");
  EXPECT_FALSE(validate_new_user("a", "\xc3@b.co").user);
}

TEST(ValidateNewUser, MalformedEmail_HasAnEmailMessage) {
  auto result = validate_new_user("a", "not-an-email");
  EXPECT_FALSE(result.user);
  EXPECT_EQ(result.message, "Email must look like name@example.com.");
}

// --- email forms --------------------------------------------------------------

TEST(Email, WellFormedAddresses_AreAccepted) {
  for (const char* email : {"a@b.co", "michael@realpython.com", "first.last+tag@sub.example.org",
                            "zoë@example.com", "日本@example.jp", "a_b-c@x-y.io", "1@2.xyz"}) {
    EXPECT_TRUE(is_valid_email(email)) << email;
  }
}

TEST(Email, MalformedAddresses_AreRefused) {
  const std::vector<std::string> bad = {
      "",                          // empty
      "plain",                     // no @
      "plain.example.com",         // no @
      "a@@b.co",                   // two @ in a row
      "a@b@c.co",                  // two @
      "a b@c.co",                  // space in the local part
      "a@b .co",                   // space in the domain
      " a@b.co",                   // leading space (not trimmed here)
      "a@b.co\n",                  // trailing newline
      "a\t@b.co",                  // tab
      "@b.co",                     // empty local part
      "a@",                        // empty domain
      "a@b",                       // domain without a dot
      "a@b.",                      // trailing dot
      "a@b.co.",                   // trailing dot after the TLD
      "a@.b.co",                   // leading dot in the domain
      "a@b..co",                   // ".." in the domain
      "a@b.c",                     // 1-letter TLD
      std::string("a@b\0.co", 7),  // NUL
  };
  for (const auto& email : bad) {
    EXPECT_FALSE(is_valid_email(email)) << testing::PrintToString(email);
  }
}

// RFC 5322 dot-atom: dots separate non-empty atoms, so "a..b", ".a" and "a."
// are not local parts.
TEST(Email, DotsOutOfPlaceInTheLocalPart_AreRefused) {
  for (const char* email : {"a..b@c.co", ".a@c.co", "a.@c.co"}) {
    EXPECT_FALSE(is_valid_email(email)) << email;
  }
}

// --- the JSON payload of POST /users --------------------------------------------

TEST(ParseNewUserJson, ObjectWithStringFields_IsAccepted) {
  auto user = parse_new_user_json(payload("michael", "m@x.io"));
  ASSERT_TRUE(user);
  EXPECT_EQ(user->username, "michael");
  EXPECT_EQ(user->email, "m@x.io");
}

TEST(ParseNewUserJson, FieldsAreTrimmed) {
  auto user = parse_new_user_json(payload("  michael ", " m@x.io "));
  ASSERT_TRUE(user);
  EXPECT_EQ(user->username, "michael");
  EXPECT_EQ(user->email, "m@x.io");
}

TEST(ParseNewUserJson, ExtraKeys_AreIgnored) {
  auto user = parse_new_user_json(
      R"({"id":9,"username":"michael","admin":true,"email":"m@x.io","extra":[1,{"a":[2]}]})");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->username, "michael");
}

TEST(ParseNewUserJson, EscapedUnicode_IsDecoded) {
  auto user = parse_new_user_json(R"({"username":"Zo\u00eb","email":"z@x.io"})");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->username, "Zoë");
}

TEST(ParseNewUserJson, EmptyOrMalformedBody_IsRefused) {
  for (const char* body :
       {"", " ", "\n", "{", "}", "nope", "{username:\"a\"}", "{'a':1}",
        R"({"username":"a","email":"a@b.co")", R"({"username":"a","email":"a@b.co"} trailing)",
        R"({"username":"a","email":"a@b.co"}{})"}) {
    EXPECT_FALSE(parse_new_user_json(body)) << body;
  }
}

TEST(ParseNewUserJson, NonObjectJson_IsRefused) {
  for (const char* body :
       {"[]", R"([{"username":"a","email":"a@b.co"}])", "42", "-1.5", "null", "true", "\"str\""}) {
    EXPECT_FALSE(parse_new_user_json(body)) << body;
  }
}

TEST(ParseNewUserJson, MissingKeys_AreRefused) {
  for (const char* body : {"{}", R"({"username":"a"})", R"({"email":"a@b.co"})",
                           R"({"Username":"a","Email":"a@b.co"})"}) {
    EXPECT_FALSE(parse_new_user_json(body)) << body;
  }
}

TEST(ParseNewUserJson, WrongTypes_AreRefused) {
  for (const char* body : {
           R"({"username":1,"email":"a@b.co"})",
           R"({"username":"a","email":null})",
           R"({"username":["a"],"email":"a@b.co"})",
           R"({"username":{"a":1},"email":"a@b.co"})",
           R"({"username":true,"email":"a@b.co"})",
           R"({"username":"a","email":["a@b.co"]})",
       }) {
    EXPECT_FALSE(parse_new_user_json(body)) << body;
  }
}

TEST(ParseNewUserJson, WhitespaceOnlyFields_AreRefused) {
  EXPECT_FALSE(parse_new_user_json(payload("   ", "a@b.co")));
  EXPECT_FALSE(parse_new_user_json(payload("a", " \\t ")));
  EXPECT_FALSE(parse_new_user_json(payload("", "a@b.co")));
}

TEST(ParseNewUserJson, InvalidFields_AreRefused) {
  EXPECT_FALSE(parse_new_user_json(payload("a", "not-an-email")));
  EXPECT_FALSE(parse_new_user_json(payload(std::string(129, 'x'), "a@b.co")));
  EXPECT_FALSE(parse_new_user_json(payload("a\\u0000b", "a@b.co")));
  EXPECT_FALSE(parse_new_user_json(payload("a\\u001b[31m", "a@b.co")));
}

TEST(ParseNewUserJson, InvalidUtf8InTheBody_IsRefusedWithoutThrowing) {
  std::string body = payload("a\xff", "a@b.co");
  EXPECT_NO_THROW(EXPECT_FALSE(parse_new_user_json(body)));
}

TEST(ParseNewUserJson, HugeNesting_IsRefusedWithoutCrashing) {
  EXPECT_FALSE(parse_new_user_json(std::string(100000, '[')));
  EXPECT_FALSE(parse_new_user_json(std::string(100000, '[') + std::string(100000, ']')));
  EXPECT_FALSE(parse_new_user_json(repeat("{\"a\":", 100000)));
}

TEST(ParseNewUserJson, DeeplyNestedExtraKey_IsRefusedWithoutCrashing) {
  std::string body = R"({"username":"a","email":"a@b.co","x":)" + std::string(5000, '[') +
                     std::string(5000, ']') + "}";
  EXPECT_FALSE(parse_new_user_json(body));
}

// --- the id in GET /users/{id} ----------------------------------------------------

TEST(ParseUserId, DecimalIntegersInInt4Range_AreParsed) {
  EXPECT_EQ(parse_user_id("1"), 1);
  EXPECT_EQ(parse_user_id("42"), 42);
  EXPECT_EQ(parse_user_id("0"), 0);
  EXPECT_EQ(parse_user_id("-1"), -1);
  EXPECT_EQ(parse_user_id("2147483647"), 2147483647);
  EXPECT_EQ(parse_user_id("-2147483648"), -2147483648LL);
}

TEST(ParseUserId, OutOfInt4Range_IsRefused) {
  for (const char* text : {"2147483648", "-2147483649", "9999999999", "99999999999999999999",
                           "18446744073709551616"}) {
    EXPECT_FALSE(parse_user_id(text)) << text;
  }
}

TEST(ParseUserId, NonDigits_AreRefused) {
  for (const char* text :
       {"", "-", "--1", "abc", "1a", "a1", "1.0", "1e3", " 1", "1 ", "+1", "0x10", "١", "1\n"}) {
    EXPECT_FALSE(parse_user_id(text)) << testing::PrintToString(std::string(text));
  }
}

}  // namespace
