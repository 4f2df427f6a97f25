// application/x-www-form-urlencoded decoding (common/form.hpp).
#include "common/form.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace {

using common::parse_form;
using common::url_decode;
using Fields = std::map<std::string, std::string>;

TEST(UrlDecode, PlusIsASpace) {
  EXPECT_EQ(url_decode("a+b++c"), "a b  c");
}

TEST(UrlDecode, PercentEscapes_AreDecodedInEitherCase) {
  EXPECT_EQ(url_decode("%41%62%2b%2B%20"), "Ab++ ");
  EXPECT_EQ(url_decode("m%40x.io"), "m@x.io");
  EXPECT_EQ(url_decode("%e6%97%a5%E6%9C%AC"), "日本");
  EXPECT_EQ(url_decode("%25"), "%");
}

TEST(UrlDecode, EscapedNul_IsKeptAsAByte) {
  auto decoded = url_decode("a%00b");
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, std::string("a\0b", 3));
}

TEST(UrlDecode, PlainText_IsUnchanged) {
  EXPECT_EQ(url_decode(""), "");
  EXPECT_EQ(url_decode("abc-._~"), "abc-._~");
}

TEST(UrlDecode, MalformedEscapes_AreRefused) {
  for (const char* text :
       {"%", "%4", "a%", "a%4", "%zz", "%G1", "%1G", "%%", "%%41", "% 1", "%-1", "ok%2"}) {
    EXPECT_FALSE(url_decode(text)) << text;
  }
}

TEST(ParseForm, DecodesKeysAndValues) {
  auto form = parse_form("username=a+b%21&email=m%40x.io&user%20name=x");
  ASSERT_TRUE(form);
  EXPECT_EQ(*form, (Fields{{"username", "a b!"}, {"email", "m@x.io"}, {"user name", "x"}}));
}

TEST(ParseForm, EmptyBody_IsAnEmptyForm) {
  auto form = parse_form("");
  ASSERT_TRUE(form);
  EXPECT_TRUE(form->empty());
}

TEST(ParseForm, EmptyPairs_AreSkipped) {
  auto form = parse_form("&&a=1&&b=2&");
  ASSERT_TRUE(form);
  EXPECT_EQ(*form, (Fields{{"a", "1"}, {"b", "2"}}));
}

TEST(ParseForm, KeyWithoutValue_HasAnEmptyValue) {
  auto form = parse_form("flag&empty=");
  ASSERT_TRUE(form);
  EXPECT_EQ(*form, (Fields{{"flag", ""}, {"empty", ""}}));
}

TEST(ParseForm, ValueMayContainEquals) {
  auto form = parse_form("a=b=c");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->at("a"), "b=c");
}

TEST(ParseForm, EscapedAmpersandAndEquals_StayInTheValue) {
  auto form = parse_form("a=x%26y%3Dz&b=2");
  ASSERT_TRUE(form);
  EXPECT_EQ(*form, (Fields{{"a", "x&y=z"}, {"b", "2"}}));
}

TEST(ParseForm, RepeatedKey_KeepsTheFirstValue) {
  auto form = parse_form("a=1&a=2&a=3");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->size(), 1u);
  EXPECT_EQ(form->at("a"), "1");
}

TEST(ParseForm, RepeatedKeyAfterDecoding_KeepsTheFirstValue) {
  auto form = parse_form("user+name=1&user%20name=2");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->at("user name"), "1");
}

TEST(ParseForm, MalformedEscapeInValueOrKey_RefusesTheForm) {
  EXPECT_FALSE(parse_form("a=%"));
  EXPECT_FALSE(parse_form("a=%4"));
  EXPECT_FALSE(parse_form("a=%zz"));
  EXPECT_FALSE(parse_form("ok=1&b=%G1"));
  EXPECT_FALSE(parse_form("%zz=1"));
}

}  // namespace
