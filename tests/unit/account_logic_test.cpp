// The pure parts of an account's life: the merge patch of PATCH /users/{id},
// the password change body, entity tags and If-Match, and which verified
// tokens still open an account (disabled, stale token_version).
#include <gtest/gtest.h>

#include "auth_payloads.hpp"
#include "authenticator.hpp"
#include "common/entity_tags.hpp"
#include "routes/users.hpp"
#include "validation.hpp"

namespace {

using users::parse_user_patch;

// --- the merge patch ---------------------------------------------------------------

TEST(UserPatch, EachFieldAlone_IsParsed) {
  auto username = parse_user_patch(R"({"username":"  ann  "})");
  ASSERT_TRUE(username);
  EXPECT_EQ(username->username, "ann");  // trimmed, as for a new user
  EXPECT_FALSE(username->needs_admin());
  auto email = parse_user_patch(R"({"email":"Ann@Example.com"})");
  ASSERT_TRUE(email);
  EXPECT_EQ(email->email, "Ann@Example.com");
  EXPECT_TRUE(email->needs_admin());
  auto flags = parse_user_patch(R"({"active":false,"admin":true})");
  ASSERT_TRUE(flags);
  EXPECT_EQ(flags->active, false);
  EXPECT_EQ(flags->admin, true);
  EXPECT_TRUE(flags->needs_admin());
  EXPECT_EQ(flags->field_names(), "active,admin");
}

TEST(UserPatch, EmptyObject_IsANoOp) {
  auto none = parse_user_patch("{}");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(none->needs_admin());
}

TEST(UserPatch, ReadOnlyUnknownNullOrMistypedMembers_AreRefused) {
  for (const std::string& body : {
           std::string(R"({"id":2})"),
           std::string(R"({"created_at":"2026-01-01T00:00:00Z"})"),
           std::string(R"({"username":"ann","password":"a long password"})"),
           std::string(R"({"token_version":0})"),
           std::string(R"({"username":null})"),
           std::string(R"({"email":null})"),
           std::string(R"({"active":null})"),
           std::string(R"({"active":"false"})"),
           std::string(R"({"admin":1})"),
           std::string(R"({"username":5})"),
           std::string(R"({"username":"   "})"),
           std::string(R"({"username":"a\u0007b"})"),
           R"({"username":")" + std::string(129, 'x') + "\"}",
           std::string(R"({"email":"not-an-email"})"),
           std::string(R"({"email":""})"),
           std::string("[]"),
           std::string("null"),
           std::string("\"ann\""),
           std::string("not json"),
           std::string(""),
       }) {
    EXPECT_FALSE(parse_user_patch(body)) << body;
  }
}

TEST(PasswordChange, BothPasswords_NewOneByThePolicy) {
  auto change = users::parse_password_change_json(
      R"({"current_password":"old one","new_password":"a new long one"})");
  ASSERT_TRUE(change);
  EXPECT_EQ(change->current_password, "old one");
  EXPECT_EQ(change->new_password, "a new long one");
  for (const std::string& body : {
           std::string(R"({"current_password":"old one"})"),
           std::string(R"({"new_password":"a new long one"})"),
           std::string(R"({"current_password":"old one","new_password":"short"})"),
           std::string(R"({"current_password":"old one","new_password":"          "})"),
           std::string(R"({"current_password":1,"new_password":"a new long one"})"),
           R"({"current_password":")" + std::string(513, 'x') +
               R"(","new_password":"a new long one"})",
           std::string("[]"),
       }) {
    EXPECT_FALSE(users::parse_password_change_json(body)) << body;
  }
}

// --- entity tags --------------------------------------------------------------------

TEST(EntityTags, ListsStarAndMalformedFields) {
  auto list = common::parse_entity_tags(R"("1-2", W/"1-3" ,, "x")");
  ASSERT_TRUE(list);
  EXPECT_FALSE(list->any);
  ASSERT_EQ(list->tags.size(), 3u);
  EXPECT_EQ(list->tags[0].opaque, "1-2");
  EXPECT_FALSE(list->tags[0].weak);
  EXPECT_TRUE(list->tags[1].weak);
  EXPECT_EQ(list->tags[2].opaque, "x");
  auto star = common::parse_entity_tags(" * ");
  ASSERT_TRUE(star);
  EXPECT_TRUE(star->any);
  for (const char* bad : {"", "1-2", "\"1-2", "\"a\" \"b\"", "*, \"a\"", "w/\"a\"", "\"a\"b"}) {
    EXPECT_FALSE(common::parse_entity_tags(bad)) << bad;
  }
  EXPECT_EQ(common::strong_etag("1-2"), "\"1-2\"");
}

TEST(EntityTags, IfNoneMatch_ComparesWeakly) {
  EXPECT_TRUE(common::none_match("\"1-2\"", "1-2"));
  EXPECT_TRUE(common::none_match("W/\"1-2\"", "1-2"));
  EXPECT_TRUE(common::none_match("\"0-0\", \"1-2\"", "1-2"));
  EXPECT_TRUE(common::none_match("*", "1-2"));
  EXPECT_FALSE(common::none_match("\"1-3\"", "1-2"));
  EXPECT_FALSE(common::none_match("1-2", "1-2"));  // malformed: matches nothing
}

TEST(EntityTags, IfMatch_StrongTagsOfThisUserOnly) {
  EXPECT_FALSE(users::expected_versions("", 1));   // no condition
  EXPECT_FALSE(users::expected_versions("*", 1));  // any version
  EXPECT_EQ(users::expected_versions("\"1-2\"", 1), std::vector<long long>{2});
  EXPECT_EQ(users::expected_versions("\"1-2\", \"1-5\"", 1), (std::vector<long long>{2, 5}));
  EXPECT_EQ(users::expected_versions("W/\"1-2\"", 1), std::vector<long long>{});  // weak
  EXPECT_EQ(users::expected_versions("\"2-2\"", 1), std::vector<long long>{});    // another user
  EXPECT_EQ(users::expected_versions("\"1-x\"", 1), std::vector<long long>{});
  EXPECT_EQ(users::expected_versions("\"12-2\"", 1), std::vector<long long>{});
  EXPECT_EQ(users::expected_versions("garbage", 1), std::vector<long long>{});  // malformed
}

// --- sessions --------------------------------------------------------------------------

TEST(Sessions, DisabledAccountStaleTokenVersionOrEndedSession_IsRefused) {
  users::TokenClaims claims;
  claims.user_id = 7;
  claims.token_version = 3;
  users::Account account;
  account.user.id = 7;
  account.user.active = true;
  account.token_version = 3;
  account.session_open = true;
  EXPECT_EQ(users::session_refusal(claims, account), "");
  account.session_open = false;  // a logout or DELETE /auth/sessions ended it
  EXPECT_EQ(users::session_refusal(claims, account), "Token revoked. Please log in again.");
  account.session_open = true;
  account.token_version = 4;  // a password change or a deactivation bumped it
  EXPECT_EQ(users::session_refusal(claims, account), "Invalid token. Please log in again.");
  account.token_version = 2;  // never issued for it: refused as well
  EXPECT_EQ(users::session_refusal(claims, account), "Invalid token. Please log in again.");
  account.token_version = 3;
  account.user.active = false;
  EXPECT_EQ(users::session_refusal(claims, account), "Account disabled.");
}

}  // namespace
