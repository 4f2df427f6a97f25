// The shared text helpers (common/text.hpp).
#include "common/text.hpp"

#include <gtest/gtest.h>

namespace {

TEST(Text, Case_ChangesAsciiLettersOnly) {
  EXPECT_EQ(common::to_lower("Content-TYPE 1\xC3\x89"), "content-type 1\xC3\x89");
  EXPECT_EQ(common::to_upper("patch-x 1\xC3\xA9"), "PATCH-X 1\xC3\xA9");
}

TEST(Text, Iequals_IgnoresAsciiCaseOnly) {
  EXPECT_TRUE(common::iequals("If-None-Match", "if-none-match"));
  EXPECT_TRUE(common::iequals("", ""));
  EXPECT_FALSE(common::iequals("bearer", "bearer "));
  EXPECT_FALSE(common::iequals("\xC3\x89", "\xC3\xA9"));  // not Unicode folding
  EXPECT_FALSE(common::iequals("a[", "A{"));              // only letters fold
}

TEST(Text, Trim_DropsTheGivenCharactersAtBothEndsOnly) {
  EXPECT_EQ(common::trim(" \t a b \t "), "a b");
  EXPECT_EQ(common::trim(" \t "), "");
  EXPECT_EQ(common::trim(""), "");
  EXPECT_EQ(common::trim("\n x \n"), "\n x \n");  // only space and tab by default
  EXPECT_EQ(common::trim("\n x \n", " \n"), "x");
  EXPECT_EQ(common::trim_end(" x \t"), " x");
  EXPECT_EQ(common::trim_end("\t "), "");
}

TEST(Text, HttpMethods_AreKnownExactly) {
  for (auto method : common::kHttpMethods) EXPECT_TRUE(common::is_http_method(method)) << method;
  EXPECT_FALSE(common::is_http_method("get"));  // methods are case-sensitive
  EXPECT_FALSE(common::is_http_method("PROPFIND"));
  EXPECT_FALSE(common::is_http_method(""));
}

}  // namespace
