// The mailed tokens' format (account_token.hpp) and the words a mail says
// their lives in.
#include "account_token.hpp"

#include <gtest/gtest.h>

#include <set>

#include "account_recovery.hpp"

namespace {

using users::account_token_hash;
using users::is_account_token;
using users::new_account_token;

TEST(AccountToken, New_Is43UrlSafeCharactersWithoutPadding) {
  for (int i = 0; i < 100; ++i) {
    auto token = new_account_token();
    ASSERT_EQ(token.size(), 43u) << token;
    EXPECT_EQ(
        token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos)
        << token;
    EXPECT_TRUE(is_account_token(token)) << token;
  }
}

TEST(AccountToken, New_NeverRepeats) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(new_account_token());
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(AccountToken, Malformed_AreRefused) {
  auto good = new_account_token();
  EXPECT_FALSE(is_account_token(""));
  EXPECT_FALSE(is_account_token(good.substr(0, 42)));
  EXPECT_FALSE(is_account_token(good + "A"));
  EXPECT_FALSE(is_account_token(good + "="));                // padding
  EXPECT_FALSE(is_account_token(std::string(100000, 'A')));  // oversize
  std::string plus = good;
  plus[10] = '+';  // the standard alphabet's, not the URL-safe one's
  EXPECT_FALSE(is_account_token(plus));
  std::string slash = good;
  slash[10] = '/';
  EXPECT_FALSE(is_account_token(slash));
  std::string space = good;
  space[0] = ' ';
  EXPECT_FALSE(is_account_token(space));
  // 32 bytes leave 2 bits of the last character unused: set, they would be a
  // second spelling of the same token.
  std::string stray = std::string(42, 'A') + "B";
  EXPECT_FALSE(is_account_token(stray));
  EXPECT_TRUE(is_account_token(std::string(42, 'A') + "E"));
}

TEST(AccountToken, Hash_IsHexSha256) {
  // SHA-256("abc"), FIPS 180-2's example.
  EXPECT_EQ(account_token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto token = new_account_token();
  EXPECT_EQ(account_token_hash(token), account_token_hash(token));
  EXPECT_NE(account_token_hash(token), account_token_hash(new_account_token()));
  EXPECT_EQ(account_token_hash(token).find(token), std::string::npos);
}

TEST(AccountToken, SpokenDuration) {
  EXPECT_EQ(users::spoken_duration(1800), "30 minutes");
  EXPECT_EQ(users::spoken_duration(86400), "24 hours");
  EXPECT_EQ(users::spoken_duration(3600), "1 hour");
  EXPECT_EQ(users::spoken_duration(60), "1 minute");
  EXPECT_EQ(users::spoken_duration(1), "1 second");
  EXPECT_EQ(users::spoken_duration(90), "90 seconds");
}

}  // namespace
