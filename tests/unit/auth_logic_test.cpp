// The pure parts of authentication: the password policy and hashing, the auth
// payloads, the Bearer header, the login limiter and the trusted-proxy rule.
#include <gtest/gtest.h>

#include "auth_payloads.hpp"
#include "authenticator.hpp"
#include "common/client_address.hpp"
#include "login_limiter.hpp"
#include "passwords.hpp"

namespace {

using namespace std::chrono_literals;

TEST(PasswordPolicy, LengthBetween8And128Characters) {
  EXPECT_FALSE(users::is_acceptable_password(""));
  EXPECT_FALSE(users::is_acceptable_password("1234567"));
  EXPECT_TRUE(users::is_acceptable_password("12345678"));
  EXPECT_TRUE(users::is_acceptable_password(std::string(128, 'x')));
  EXPECT_FALSE(users::is_acceptable_password(std::string(129, 'x')));
  // Characters, not bytes: 8 two-byte letters pass, 129 of them do not.
  std::string e_acute = "\xc3\xa9";
  std::string eight, many;
  for (int i = 0; i < 8; ++i) eight += e_acute;
  for (int i = 0; i < 129; ++i) many += e_acute;
  EXPECT_TRUE(users::is_acceptable_password(eight));
  EXPECT_FALSE(users::is_acceptable_password(many));
}

TEST(PasswordPolicy, OnlySpacesOrInvalidUtf8_AreRefused) {
  EXPECT_FALSE(users::is_acceptable_password("          "));
  EXPECT_TRUE(users::is_acceptable_password("   x      "));
  EXPECT_FALSE(users::is_acceptable_password("12345678\xff"));
  EXPECT_FALSE(
      users::is_acceptable_password(std::string("1234\0"
                                                "5678",
                                                9)));
}

TEST(PasswordHasher, HashVerifies_WrongPasswordDoesNot) {
  users::PasswordHasher hasher("min");
  auto hash = hasher.hash("correct horse");
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u) << hash;
  EXPECT_EQ(hash.find("correct horse"), std::string::npos);
  EXPECT_TRUE(hasher.verify(hash, "correct horse"));
  EXPECT_FALSE(hasher.verify(hash, "correct horsE"));
  EXPECT_FALSE(hasher.verify("not a hash", "correct horse"));
  EXPECT_NE(hasher.hash("correct horse"), hash);  // salted
}

TEST(PasswordHasher, UnknownCost_IsRefused) {
  EXPECT_THROW(users::PasswordHasher("max"), std::invalid_argument);
}

TEST(AuthPayloads, Registration_ValidatesLikePostUsersPlusPassword) {
  auto ok = users::parse_registration_json(
      R"({"username":" michael ","email":"michael@realpython.com","password":"greaterthaneight"})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->user.username, "michael");
  EXPECT_EQ(ok->password, "greaterthaneight");
  for (const char* body : {
           R"({})",
           R"([])",
           R"({"username":"m","email":"m@x.io"})",
           R"({"username":"m","email":"m@x.io","password":"short"})",
           R"({"username":"m","email":"m@x.io","password":12345678})",
           R"({"username":"m","email":"not-an-email","password":"greaterthaneight"})",
           R"({"username":"","email":"m@x.io","password":"greaterthaneight"})",
           R"({"email":"m@x.io","password":"greaterthaneight"})",
           R"({"username":"m","email":"m@x.io","password":"          "})",
           "not json",
       }) {
    EXPECT_FALSE(users::parse_registration_json(body)) << body;
  }
}

TEST(AuthPayloads, Login_NeedsStringEmailAndPassword) {
  auto ok = users::parse_login_json(R"({"email":" m@x.io ","password":"pw"})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->email, "m@x.io");
  EXPECT_EQ(ok->password, "pw");
  for (const char* body : {R"({})", R"({"email":"m@x.io"})", R"({"password":"12345678"})",
                           R"({"email":"","password":"12345678"})",
                           R"({"email":1,"password":"12345678"})", R"("x")", "{"}) {
    EXPECT_FALSE(users::parse_login_json(body)) << body;
  }
  std::string huge = R"({"email":"m@x.io","password":")" + std::string(600, 'x') + "\"}";
  EXPECT_FALSE(users::parse_login_json(huge));
}

TEST(BearerToken, OnlyTheBearerScheme) {
  EXPECT_EQ(users::bearer_token("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(users::bearer_token("bearer   abc "), "abc");
  EXPECT_EQ(users::bearer_token(""), "");
  EXPECT_EQ(users::bearer_token("Bearer"), "");
  EXPECT_EQ(users::bearer_token("Bearer "), "");
  EXPECT_EQ(users::bearer_token("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(users::bearer_token("abc.def.ghi"), "");
}

TEST(LoginLimiter, AllowsNFailuresAMinuteThenSaysHowLongToWait) {
  users::LoginLimiter limiter(3);
  auto start = users::LoginLimiter::Clock::now();
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(limiter.retry_after("k", start + i * 1s));
    limiter.record_failure("k", start + i * 1s);
  }
  auto wait = limiter.retry_after("k", start + 3s);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 57);  // until the first failure is a minute old
  EXPECT_EQ(*limiter.retry_after("k", start + 3s + 500ms), 57);  // rounded up
  EXPECT_FALSE(limiter.retry_after("other", start + 3s));
  EXPECT_FALSE(limiter.retry_after("k", start + 60s));  // the first one has aged out
  limiter.record_failure("k", start + 60s);
  EXPECT_EQ(*limiter.retry_after("k", start + 60s), 1);  // now the one at 1 s is the oldest
  EXPECT_FALSE(limiter.retry_after("k", start + 61s));
}

TEST(LoginLimiter, ForgetsOldKeys) {
  users::LoginLimiter limiter(1);
  auto start = users::LoginLimiter::Clock::now();
  limiter.record_failure("a", start);
  EXPECT_TRUE(limiter.retry_after("a", start + 1s));
  limiter.record_failure("b", start + 120s);  // prunes "a"
  EXPECT_FALSE(limiter.retry_after("a", start + 120s));
  EXPECT_TRUE(limiter.retry_after("b", start + 121s));
}

TEST(ClientAddress, AddressSetMatchesAddressesAndBlocks) {
  common::AddressSet set({"127.0.0.1", "10.0.0.0/8", "172.16.0.0/12", "::1", "fd00::/8"});
  EXPECT_TRUE(set.contains("127.0.0.1"));
  EXPECT_FALSE(set.contains("127.0.0.2"));
  EXPECT_TRUE(set.contains("10.255.1.2"));
  EXPECT_TRUE(set.contains("172.31.0.1"));
  EXPECT_FALSE(set.contains("172.32.0.1"));
  EXPECT_TRUE(set.contains("::1"));
  EXPECT_TRUE(set.contains("fd12::1"));
  EXPECT_TRUE(set.contains("::ffff:127.0.0.1"));
  EXPECT_FALSE(set.contains("nonsense"));
  EXPECT_THROW(common::AddressSet({"localhost"}), std::invalid_argument);
  EXPECT_THROW(common::AddressSet({"10.0.0.0/40"}), std::invalid_argument);
  EXPECT_THROW(common::AddressSet({"10.0.0.0/"}), std::invalid_argument);
}

TEST(ClientAddress, RealIpOnlyFromATrustedPeer) {
  common::AddressSet trusted({"127.0.0.1"});
  common::Request request;
  request.peer_address = "127.0.0.1";
  request.real_ip = "203.0.113.9";
  EXPECT_EQ(common::client_address(request, trusted), "203.0.113.9");
  request.real_ip = "not an address";
  EXPECT_EQ(common::client_address(request, trusted), "127.0.0.1");
  request.real_ip = "";
  EXPECT_EQ(common::client_address(request, trusted), "127.0.0.1");
  request.peer_address = "198.51.100.4";
  request.real_ip = "203.0.113.9";
  EXPECT_EQ(common::client_address(request, trusted), "198.51.100.4");
}

}  // namespace
