// The life of an account over real HTTP against a real PostgreSQL: PATCH
// /users/{id} (who may change what, validation, duplicates, 32 racers for one
// email), DELETE /users/{id}, POST /auth/password, deactivation, ETag / 304 /
// If-Match / 412, the audit lines and the counters in /metrics.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include "service_fixture.hpp"
#include "tokens.hpp"

namespace {

using fixture::expect_fail;
using fixture::ServiceTest;
using nlohmann::json;

const std::string kPassword = "correct horse battery";
const char* const kNoPermission = "You do not have permission to do that.";
const char* const kInvalidToken = "Invalid token. Please log in again.";
const char* const kLastAdmin = "The last admin cannot be removed.";

std::string fresh_address() {
  return fixture::fresh_address(19);
}

struct Member {
  long long id = 0;
  std::string email;
  std::string token;
};

class Account : public ServiceTest {
 protected:
  support::HttpResponse send(const std::string& method, const std::string& path,
                             const std::string& body = "", support::Headers headers = {},
                             const std::string& content_type = "application/json") const {
    headers.emplace_back("X-Real-IP", address_);
    if (!body.empty()) headers.emplace_back("Content-Type", content_type);
    return support::http_request(port(), method, path, body, headers);
  }
  support::HttpResponse as(const Member& member, const std::string& method, const std::string& path,
                           const std::string& body = "", support::Headers headers = {},
                           const std::string& content_type = "application/json") const {
    headers.emplace_back("Authorization", "Bearer " + member.token);
    return send(method, path, body, headers, content_type);
  }
  support::HttpResponse patch(const Member& member, long long id, const json& changes,
                              support::Headers headers = {}) const {
    return as(member, "PATCH", "/users/" + std::to_string(id), changes.dump(), headers,
              "application/merge-patch+json");
  }
  support::HttpResponse remove(const Member& member, long long id,
                               support::Headers headers = {}) const {
    return as(member, "DELETE", "/users/" + std::to_string(id), "", headers);
  }
  support::HttpResponse login(const std::string& email, const std::string& password) const {
    return send("POST", "/auth/login", json{{"email", email}, {"password", password}}.dump());
  }
  // A registered (active) user and its token.
  Member member(const std::string& name, bool admin = false) const {
    Member m;
    m.email = name + "@example.com";
    auto response =
        send("POST", "/auth/register",
             json{{"username", name}, {"email", m.email}, {"password", kPassword}}.dump());
    EXPECT_EQ(response.status, 201) << response.body;
    m.token = response.json().value("auth_token", "");
    m.id = fixture::execute("SELECT id FROM users WHERE email = '" + m.email + "'")[0][0]
               .as<long long>();
    if (admin) fixture::execute("UPDATE users SET admin = true WHERE id = " + std::to_string(m.id));
    return m;
  }
  static std::string path_of(long long id) { return "/users/" + std::to_string(id); }
  static json row(long long id) {
    auto rows = fixture::execute(
        "SELECT username, email, active, admin, token_version, row_version FROM users WHERE id = " +
        std::to_string(id));
    if (rows.empty()) return nullptr;
    return {{"username", rows[0][0].as<std::string>()},
            {"email", rows[0][1].as<std::string>()},
            {"active", rows[0][2].as<bool>()},
            {"admin", rows[0][3].as<bool>()},
            {"token_version", rows[0][4].as<long long>()},
            {"row_version", rows[0][5].as<long long>()}};
  }

  std::string address_ = fresh_address();
};

// --- PATCH: who may change what -------------------------------------------------------

TEST_F(Account, Patch_OwnUsername_AnswersAsGetDoes) {
  auto ann = member("ann");
  auto response = patch(ann, ann.id, {{"username", "  Ann B.  "}});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  auto got = get(path_of(ann.id));
  EXPECT_EQ(response.body, got.body);
  EXPECT_EQ(response.header("ETag"), got.header("ETag"));
  EXPECT_EQ(response.json()["data"]["username"], "Ann B.");
  EXPECT_EQ(response.json()["data"]["email"], ann.email);
  EXPECT_EQ(response.json()["data"]["active"], true);
  EXPECT_EQ(row(ann.id)["username"], "Ann B.");
  // Plain application/json is accepted too.
  auto plain = as(ann, "PATCH", path_of(ann.id), R"({"username":"ann"})");
  EXPECT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(row(ann.id)["username"], "ann");
}

TEST_F(Account, Patch_UserMayNotChangeEmailActiveAdminNorOthers) {
  auto ann = member("ann");
  auto bob = member("bob");
  auto before = row(ann.id);
  for (const json& changes : {json{{"email", "new@example.com"}}, json{{"active", false}},
                              json{{"admin", true}}, json{{"username", "x"}, {"admin", true}}}) {
    expect_fail(patch(ann, ann.id, changes), 401, kNoPermission);
  }
  expect_fail(patch(ann, bob.id, {{"username", "mallory"}}), 401, kNoPermission);
  // Another user's id is refused before anything else is looked at.
  expect_fail(patch(ann, 999999, {{"username", "x"}}), 401, kNoPermission);
  expect_fail(patch(ann, bob.id, {{"id", 5}}), 401, kNoPermission);
  EXPECT_EQ(row(ann.id), before);
  EXPECT_EQ(row(bob.id)["username"], "bob");
}

TEST_F(Account, Patch_AdminChangesEveryField) {
  auto admin = member("admin", true);
  auto ann = member("ann");
  auto response = patch(admin, ann.id,
                        {{"username", "annie"}, {"email", "Annie@Example.org"}, {"admin", true}});
  ASSERT_EQ(response.status, 200) << response.body;
  auto data = response.json()["data"];
  EXPECT_EQ(data["username"], "annie");
  EXPECT_EQ(data["email"], "Annie@Example.org");
  EXPECT_EQ(row(ann.id)["admin"], true);
  // Ann's token still works (nothing revoked it) and now says admin.
  auto status = as(ann, "GET", "/auth/status");
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(status.json()["data"]["admin"], true);
  EXPECT_EQ(status.json()["data"]["email"], "Annie@Example.org");
  // Logging in uses the new email.
  EXPECT_EQ(login("annie@example.org", kPassword).status, 200);
  EXPECT_EQ(login(ann.email, kPassword).status, 401);
  // And back.
  EXPECT_EQ(patch(admin, ann.id, {{"admin", false}}).status, 200);
  EXPECT_EQ(row(ann.id)["admin"], false);
}

TEST_F(Account, Patch_EmptyPatch_ChangesNothing) {
  auto ann = member("ann");
  auto before = row(ann.id);
  auto response = patch(ann, ann.id, json::object());
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.json()["data"]["username"], "ann");
  EXPECT_EQ(row(ann.id), before);  // not even the row version
}

TEST_F(Account, Patch_DuplicateEmail_Returns400CaseInsensitive) {
  auto admin = member("admin", true);
  auto ann = member("ann");
  ASSERT_EQ(add_user("old", "old@example.com").status, 201);
  expect_fail(patch(admin, ann.id, {{"email", "OLD@example.com"}}), 400,
              "Sorry. That email already exists.");
  expect_fail(patch(admin, ann.id, {{"email", "admin@example.com"}}), 400,
              "Sorry. That email already exists.");
  EXPECT_EQ(row(ann.id)["email"], ann.email);
  // Its own email in another case is not a duplicate.
  EXPECT_EQ(patch(admin, ann.id, {{"email", "ANN@example.com"}}).status, 200);
}

TEST_F(Account, Patch_InvalidPayloads_Return400) {
  auto admin = member("admin", true);
  auto ann = member("ann");
  auto before = row(ann.id);
  for (const std::string& body : {
           std::string(R"({"id":7})"),
           std::string(R"({"created_at":"2026-01-01T00:00:00Z"})"),
           std::string(R"({"password":"a long password"})"),
           std::string(R"({"nickname":"x"})"),
           std::string(R"({"username":null})"),
           std::string(R"({"email":"not-an-email"})"),
           std::string(R"({"active":"yes"})"),
           std::string(R"({"username":"   "})"),
           std::string("[]"),
           std::string("not json"),
       }) {
    expect_fail(as(admin, "PATCH", path_of(ann.id), body, {}, "application/merge-patch+json"), 400,
                "Invalid payload.");
  }
  expect_fail(as(admin, "PATCH", path_of(ann.id), R"({"username":"x"})", {}, "text/plain"), 400,
              "Invalid payload.");
  expect_fail(as(admin, "PATCH", path_of(ann.id), "", {{"Content-Type", "application/json"}}), 400,
              "Invalid payload.");
  EXPECT_EQ(row(ann.id), before);
}

TEST_F(Account, Patch_TokenIdAndAbsence) {
  auto admin = member("admin", true);
  expect_fail(send("PATCH", path_of(admin.id), R"({"username":"x"})"), 403,
              "Provide a valid auth token.");
  expect_fail(send("PATCH", path_of(admin.id), R"({"username":"x"})",
                   {{"Authorization", "Bearer not.a.token"}}),
              401, kInvalidToken);
  expect_fail(patch(admin, 0, {{"username", "x"}}), 404, "User does not exist");
  expect_fail(patch(admin, 424242, {{"username", "x"}}), 404, "User does not exist");
  expect_fail(as(admin, "PATCH", "/users/abc", R"({"username":"x"})"), 400, "Param id error");
  expect_fail(as(admin, "PATCH", "/users/99999999999", R"({"username":"x"})"), 400,
              "Param id error");
}

// --- active ---------------------------------------------------------------------------

TEST_F(Account, Deactivate_EndsSessionsAtOnce_LoginSaysSoOnlyAfterTheRightPassword) {
  auto admin = member("admin", true);
  auto ann = member("ann");
  auto second = login(ann.email, kPassword).json().value("auth_token", "");
  ASSERT_EQ(as(ann, "GET", "/auth/status").status, 200);
  auto response = patch(admin, ann.id, {{"active", false}});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.json()["data"]["active"], false);
  // Every token of hers, at once, on every route that authenticates.
  expect_fail(as(ann, "GET", "/auth/status"), 401, "Account disabled.");
  expect_fail(send("GET", "/auth/status", "", {{"Authorization", "Bearer " + second}}), 401,
              "Account disabled.");
  expect_fail(patch(ann, ann.id, {{"username", "x"}}), 401, "Account disabled.");
  expect_fail(
      as(ann, "POST", "/auth/password",
         json{{"current_password", kPassword}, {"new_password", "another password"}}.dump()),
      401, "Account disabled.");
  // Login: a wrong password says nothing about the account.
  expect_fail(login(ann.email, "wrong password"), 401, "Invalid credentials.");
  expect_fail(login(ann.email, kPassword), 401, "Account disabled.");
  // Activated again: the old tokens stay dead (the version moved on), a
  // new login works.
  ASSERT_EQ(patch(admin, ann.id, {{"active", true}}).status, 200);
  expect_fail(as(ann, "GET", "/auth/status"), 401, kInvalidToken);
  auto again = login(ann.email, kPassword);
  ASSERT_EQ(again.status, 200) << again.body;
  Member renewed = ann;
  renewed.token = again.json()["auth_token"];
  EXPECT_EQ(as(renewed, "GET", "/auth/status").status, 200);
}

TEST_F(Account, RegisteredUsersAreActive_OpenPostUsersStayInactive) {
  auto ann = member("ann");
  EXPECT_EQ(get(path_of(ann.id)).json()["data"]["active"], true);
  ASSERT_EQ(add_user("seed", "seed@example.com").status, 201);
  EXPECT_EQ(get("/users").json()["data"]["users"][1]["active"], false);
}

// --- PATCH: 32 racers for one email ---------------------------------------------------

TEST_F(Account, Patch_32ConcurrentChangesToOneEmail_ExactlyOneWins) {
  constexpr int kRacers = 32;
  auto admin = member("admin", true);
  std::vector<long long> ids;
  for (int i = 0; i < kRacers; ++i) {
    ids.push_back(
        add_user("racer" + std::to_string(i), "racer" + std::to_string(i) + "@x.org").status == 201
            ? fixture::execute("SELECT max(id) FROM users")[0][0].as<long long>()
            : 0);
  }
  std::vector<std::unique_ptr<support::HttpConnection>> connections;
  for (int i = 0; i < kRacers; ++i) {
    connections.push_back(std::make_unique<support::HttpConnection>("127.0.0.1", port()));
  }
  std::vector<support::HttpResponse> responses(kRacers);
  std::mutex mutex;
  std::condition_variable open;
  int waiting = kRacers;
  std::vector<std::thread> threads;
  for (int i = 0; i < kRacers; ++i) {
    threads.emplace_back([&, i] {
      {
        std::unique_lock<std::mutex> lock(mutex);
        if (--waiting == 0) {
          open.notify_all();
        } else {
          open.wait(lock, [&] { return waiting == 0; });
        }
      }
      // The same email, in different cases: the index is on lower(email).
      std::string email = i % 2 ? "Taken@Example.com" : "taken@example.com";
      try {
        responses[i] =
            connections[i]->request("PATCH", path_of(ids[i]), json{{"email", email}}.dump(),
                                    {{"Content-Type", "application/merge-patch+json"},
                                     {"Authorization", "Bearer " + admin.token}});
      } catch (const std::exception& error) {
        responses[i].body = error.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  int changed = 0;
  int refused = 0;
  for (const auto& response : responses) {
    if (response.status == 200) {
      ++changed;
    } else if (response.status == 400 &&
               response.json().value("message", "") == "Sorry. That email already exists.") {
      ++refused;
    } else {
      ADD_FAILURE() << response.status << " " << response.body;
    }
  }
  EXPECT_EQ(changed, 1);
  EXPECT_EQ(refused, kRacers - 1);
  EXPECT_EQ(
      fixture::execute("SELECT count(*) FROM users WHERE lower(email) = 'taken@example.com'")[0][0]
          .as<int>(),
      1);
}

// --- DELETE ---------------------------------------------------------------------------

TEST_F(Account, Delete_ByAdmin_204ThenGone_SecondIs404) {
  auto admin = member("admin", true);
  auto ann = member("ann");
  auto response = remove(admin, ann.id);
  EXPECT_EQ(response.status, 204) << response.body;
  EXPECT_EQ(response.body, "");
  expect_fail(get(path_of(ann.id)), 404, "User does not exist");
  EXPECT_TRUE(row(ann.id).is_null());
  expect_fail(as(ann, "GET", "/auth/status"), 401, kInvalidToken);
  long long users = user_count();
  expect_fail(remove(admin, ann.id), 404, "User does not exist");
  EXPECT_EQ(user_count(), users);
  expect_fail(login(ann.email, kPassword), 401, "Invalid credentials.");
}

TEST_F(Account, Delete_Themself_ThenTheirTokensAreRefused) {
  auto ann = member("ann");
  auto bob = member("bob");
  expect_fail(remove(ann, bob.id), 401, kNoPermission);
  expect_fail(remove(ann, 999999), 401, kNoPermission);
  EXPECT_FALSE(row(bob.id).is_null());
  EXPECT_EQ(remove(ann, ann.id).status, 204);
  expect_fail(remove(ann, ann.id), 401, kInvalidToken);
  expect_fail(send("DELETE", path_of(bob.id)), 403, "Provide a valid auth token.");
  expect_fail(remove(bob, 0), 401, kNoPermission);
  EXPECT_EQ(user_count(), 1);
}

TEST_F(Account, Delete_BadIdAndAbsentAsAdmin) {
  auto admin = member("admin", true);
  expect_fail(as(admin, "DELETE", "/users/abc"), 400, "Param id error");
  expect_fail(remove(admin, 424242), 404, "User does not exist");
  // The seed's users (no password) can be deleted too.
  ASSERT_EQ(add_user("seed", "seed@example.com").status, 201);
  long long seed =
      fixture::execute("SELECT id FROM users WHERE username = 'seed'")[0][0].as<long long>();
  EXPECT_EQ(remove(admin, seed).status, 204);
}

// The failed logins counted for the email go with the user: a new account
// with that email starts with a clean slate.
TEST_F(Account, Delete_ForgetsTheFailedLoginsOfTheEmail) {
  auto admin = member("admin", true);
  auto ann = member("ann");
  for (int i = 0; i < 10; ++i) {
    address_ = fresh_address();
    EXPECT_EQ(login(ann.email, "guess " + std::to_string(i)).status, 401);
  }
  address_ = fresh_address();
  ASSERT_EQ(login(ann.email, kPassword).status, 429);
  ASSERT_EQ(remove(admin, ann.id).status, 204);
  auto again = member("ann");
  EXPECT_EQ(login(again.email, kPassword).status, 200);
}

// --- POST /auth/password --------------------------------------------------------------

TEST_F(Account, PasswordChange_RevokesEveryOtherTokenAndGivesANewOne) {
  auto ann = member("ann");
  auto other = login(ann.email, kPassword).json().value("auth_token", "");
  auto before = fixture::execute("SELECT password FROM users WHERE id = " + std::to_string(ann.id));
  const std::string replacement = "a brand new password";
  auto response = as(ann, "POST", "/auth/password",
                     json{{"current_password", kPassword}, {"new_password", replacement}}.dump());
  ASSERT_EQ(response.status, 200) << response.body;
  auto body = response.json();
  EXPECT_EQ(body["status"], "success");
  EXPECT_EQ(body["message"], "Password changed.");
  Member renewed = ann;
  renewed.token = body["auth_token"];
  EXPECT_NE(renewed.token, ann.token);
  EXPECT_EQ(as(renewed, "GET", "/auth/status").status, 200);
  expect_fail(as(ann, "GET", "/auth/status"), 401, kInvalidToken);
  expect_fail(send("GET", "/auth/status", "", {{"Authorization", "Bearer " + other}}), 401,
              kInvalidToken);
  auto stored =
      fixture::execute("SELECT password FROM users WHERE id = " + std::to_string(ann.id))[0][0]
          .as<std::string>();
  EXPECT_EQ(stored.rfind("$argon2id$", 0), 0u);
  EXPECT_NE(stored, before[0][0].as<std::string>());
  EXPECT_EQ(login(ann.email, kPassword).status, 401);
  EXPECT_EQ(login(ann.email, replacement).status, 200);
}

TEST_F(Account, PasswordChange_Refusals) {
  auto ann = member("ann");
  auto version = row(ann.id)["token_version"];
  expect_fail(send("POST", "/auth/password",
                   json{{"current_password", kPassword}, {"new_password", "another one"}}.dump()),
              403, "Provide a valid auth token.");
  expect_fail(as(ann, "POST", "/auth/password",
                 json{{"current_password", "not it"}, {"new_password", "another one"}}.dump()),
              401, "Invalid credentials.");
  for (const std::string& body :
       {json{{"current_password", kPassword}, {"new_password", "short"}}.dump(),
        json{{"current_password", kPassword}}.dump(), std::string("[]"), std::string("nope")}) {
    expect_fail(as(ann, "POST", "/auth/password", body), 400, "Invalid payload.");
  }
  expect_fail(as(ann, "POST", "/auth/password",
                 json{{"current_password", kPassword}, {"new_password", "another one"}}.dump(), {},
                 "text/plain"),
              400, "Invalid payload.");
  EXPECT_EQ(row(ann.id)["token_version"], version);
  EXPECT_EQ(as(ann, "GET", "/auth/status").status, 200);
}

// --- conditional requests -------------------------------------------------------------

TEST_F(Account, Get_StrongETag_IfNoneMatch304_ChangesWithTheRow) {
  auto admin = member("admin", true);
  auto ann = member("ann");
  auto first = get(path_of(ann.id));
  std::string etag = first.header("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(etag.front(), '"');  // strong: no W/
  EXPECT_EQ(get(path_of(ann.id)).header("ETag"), etag);
  EXPECT_NE(get(path_of(admin.id)).header("ETag"), etag);

  auto cached =
      support::http_request(port(), "GET", path_of(ann.id), "", {{"If-None-Match", etag}});
  EXPECT_EQ(cached.status, 304);
  EXPECT_EQ(cached.body, "");
  EXPECT_EQ(cached.header("ETag"), etag);
  EXPECT_FALSE(cached.has_header("Content-Length"));
  for (const std::string& field : {"\"0-0\", " + etag, "W/" + etag, std::string("*")}) {
    EXPECT_EQ(support::http_request(port(), "GET", path_of(ann.id), "", {{"If-None-Match", field}})
                  .status,
              304)
        << field;
  }
  EXPECT_EQ(
      support::http_request(port(), "GET", path_of(ann.id), "", {{"If-None-Match", "\"0-0\""}})
          .status,
      200);

  ASSERT_EQ(patch(admin, ann.id, {{"username", "annie"}}).status, 200);
  auto changed =
      support::http_request(port(), "GET", path_of(ann.id), "", {{"If-None-Match", etag}});
  EXPECT_EQ(changed.status, 200);
  EXPECT_NE(changed.header("ETag"), etag);
  EXPECT_EQ(changed.json()["data"]["username"], "annie");
  // A change of anything the row holds moves it (here the password).
  std::string now = changed.header("ETag");
  ASSERT_EQ(as(ann, "POST", "/auth/password",
               json{{"current_password", kPassword}, {"new_password", "another password"}}.dump())
                .status,
            200);
  EXPECT_NE(get(path_of(ann.id)).header("ETag"), now);
}

// The admin's view has a body of its own (email_verified), so a tag of its
// own: a public copy's tag never earns an admin a 304, and either tag names
// the row's version for If-Match.
TEST_F(Account, AdminView_OwnETagVaryAuthorization_EitherTagServesIfMatch) {
  auto admin = member("admin", true);
  auto ann = member("ann");
  auto public_read = get(path_of(ann.id));
  auto admin_read = as(admin, "GET", path_of(ann.id));
  ASSERT_EQ(admin_read.status, 200);
  ASSERT_TRUE(admin_read.json()["data"].contains("email_verified"));
  ASSERT_FALSE(public_read.json()["data"].contains("email_verified"));
  EXPECT_NE(admin_read.header("ETag"), public_read.header("ETag"));
  EXPECT_EQ(public_read.header("Vary"), "Authorization");
  EXPECT_EQ(admin_read.header("Vary"), "Authorization");

  auto revalidated =
      as(admin, "GET", path_of(ann.id), "", {{"If-None-Match", public_read.header("ETag")}});
  EXPECT_EQ(revalidated.status, 200);
  EXPECT_TRUE(revalidated.json()["data"].contains("email_verified"));
  EXPECT_EQ(
      as(admin, "GET", path_of(ann.id), "", {{"If-None-Match", admin_read.header("ETag")}}).status,
      304);
  EXPECT_EQ(support::http_request(port(), "GET", path_of(ann.id), "",
                                  {{"If-None-Match", admin_read.header("ETag")}})
                .status,
            200);

  auto by_admin_tag =
      patch(admin, ann.id, {{"username", "annie"}}, {{"If-Match", admin_read.header("ETag")}});
  ASSERT_EQ(by_admin_tag.status, 200) << by_admin_tag.body;
  expect_fail(
      patch(admin, ann.id, {{"username", "ann2"}}, {{"If-Match", admin_read.header("ETag")}}), 412,
      "The user has changed since you read it.");
  auto by_public_tag = patch(admin, ann.id, {{"username", "ann2"}},
                             {{"If-Match", get(path_of(ann.id)).header("ETag")}});
  EXPECT_EQ(by_public_tag.status, 200) << by_public_tag.body;
}

TEST_F(Account, Head_AnswersAsGet_With304) {
  auto ann = member("ann");
  std::string etag = get(path_of(ann.id)).header("ETag");
  support::HttpConnection connection("127.0.0.1", port());
  connection.send_raw("HEAD " + path_of(ann.id) + " HTTP/1.1\r\nHost: t\r\nIf-None-Match: " + etag +
                      "\r\n\r\n");
  auto head = connection.read_response();
  EXPECT_EQ(head.status, 304);
  EXPECT_EQ(head.header("ETag"), etag);
}

TEST_F(Account, IfMatch_StaleVersion412_CurrentOrStarGoesThrough) {
  auto admin = member("admin", true);
  auto ann = member("ann");
  std::string etag = get(path_of(ann.id)).header("ETag");
  // Another admin changes her first.
  ASSERT_EQ(patch(admin, ann.id, {{"username", "first"}}).status, 200);
  auto before = row(ann.id);
  expect_fail(patch(admin, ann.id, {{"username", "second"}}, {{"If-Match", etag}}), 412,
              "The user has changed since you read it.");
  expect_fail(patch(admin, ann.id, {{"username", "second"}}, {{"If-Match", "W/" + etag}}), 412,
              "The user has changed since you read it.");
  expect_fail(patch(admin, ann.id, {{"username", "second"}}, {{"If-Match", "garbage"}}), 412,
              "The user has changed since you read it.");
  expect_fail(remove(admin, ann.id, {{"If-Match", etag}}), 412,
              "The user has changed since you read it.");
  EXPECT_EQ(row(ann.id), before);

  std::string current = get(path_of(ann.id)).header("ETag");
  auto response = patch(admin, ann.id, {{"username", "second"}}, {{"If-Match", current}});
  ASSERT_EQ(response.status, 200) << response.body;
  std::string next = response.header("ETag");
  EXPECT_NE(next, current);
  // The admin's answer carries the admin's view's tag, as the admin's read does.
  EXPECT_EQ(next, as(admin, "GET", path_of(ann.id)).header("ETag"));
  EXPECT_EQ(patch(admin, ann.id, {{"username", "third"}}, {{"If-Match", "*"}}).status, 200);
  // Absent beats the precondition: 404, not 412.
  expect_fail(patch(admin, 424242, {{"username", "x"}}, {{"If-Match", etag}}), 404,
              "User does not exist");
  std::string last = get(path_of(ann.id)).header("ETag");
  EXPECT_EQ(remove(admin, ann.id, {{"If-Match", "\"0-0\", " + last}}).status, 204);
}

// --- the last active admin ------------------------------------------------------------

TEST_F(Account, LastAdmin_CannotDemoteDeactivateOrDeleteItself_409) {
  auto admin = member("admin", true);
  auto ann = member("ann");
  auto before = row(admin.id);
  expect_fail(patch(admin, admin.id, {{"admin", false}}), 409, kLastAdmin);
  expect_fail(patch(admin, admin.id, {{"active", false}}), 409, kLastAdmin);
  expect_fail(patch(admin, admin.id, {{"username", "x"}, {"admin", false}}), 409, kLastAdmin);
  expect_fail(remove(admin, admin.id), 409, kLastAdmin);
  EXPECT_EQ(row(admin.id), before);  // nothing done, not even the username
  // What removes no admin goes through.
  EXPECT_EQ(patch(admin, admin.id, {{"username", "boss"}, {"admin", true}}).status, 200);
  EXPECT_EQ(patch(admin, ann.id, {{"active", false}}).status, 200);
  // An inactive admin is not the other admin.
  fixture::execute("UPDATE users SET admin = true WHERE id = " + std::to_string(ann.id));
  expect_fail(patch(admin, admin.id, {{"admin", false}}), 409, kLastAdmin);
  // An active one is: then the first may step down, and the one left may not.
  fixture::execute("UPDATE users SET active = true WHERE id = " + std::to_string(ann.id));
  Member renewed = ann;
  renewed.token = login(ann.email, kPassword).json().value("auth_token", "");
  EXPECT_EQ(patch(admin, admin.id, {{"admin", false}}).status, 200);
  expect_fail(patch(renewed, renewed.id, {{"active", false}}), 409, kLastAdmin);
  expect_fail(remove(renewed, renewed.id), 409, kLastAdmin);
  EXPECT_EQ(fixture::execute("SELECT count(*) FROM users WHERE admin AND active")[0][0].as<int>(),
            1);
}

// Two admins remove each other at the same moment, round after round, in
// each way there is (demote, deactivate, delete, each themself): one of them
// always stays an active admin, and exactly one request succeeds. A second
// app with several database connections per loop, so that the two changes
// run on two PostgreSQL backends at once (write skew needs that: under READ
// COMMITTED each sees the other still an admin unless a lock orders them).
TEST_F(Account, TwoAdminsRemovingEachOtherAtOnce_OneAlwaysRemains) {
  auto config = fixture::testing_config(fixture::service().database_url,
                                        {{"THREADS", "2"}, {"DB_POOL_SIZE", "8"}});
  auto app = users::create_app(config);
  app->start();
  auto a = member("alice", true);
  auto b = member("bert", true);
  // Each round starts from the same two rows: admins, active, token version 0
  // (the tokens' version), re-inserted with their ids after a delete, and
  // their tokens' sessions (which a delete takes with it), open again.
  auto sid = [](const Member& m) {
    return std::to_string(users::TokenCodec("secret", 3600).verify(m.token).session_id);
  };
  const std::string reset =
      "DELETE FROM users WHERE id IN (" + std::to_string(a.id) + ", " + std::to_string(b.id) +
      "); INSERT INTO users (id, username, email, active, admin) VALUES (" + std::to_string(a.id) +
      ", 'alice', '" + a.email + "', true, true), (" + std::to_string(b.id) + ", 'bert', '" +
      b.email +
      "', true, true); INSERT INTO sessions (id, user_id) OVERRIDING SYSTEM VALUE VALUES (" +
      sid(a) + ", " + std::to_string(a.id) + "), (" + sid(b) + ", " + std::to_string(b.id) + ")";
  using Change = std::function<support::HttpResponse(support::HttpConnection&, const Member& actor,
                                                     const Member& target)>;
  auto patching = [](const json& changes) -> Change {
    return
        [changes](support::HttpConnection& connection, const Member& actor, const Member& target) {
          return connection.request("PATCH", path_of(target.id), changes.dump(),
                                    {{"Content-Type", "application/merge-patch+json"},
                                     {"Authorization", "Bearer " + actor.token}});
        };
  };
  Change deleting = [](support::HttpConnection& connection, const Member& actor,
                       const Member& target) {
    return connection.request("DELETE", path_of(target.id), "",
                              {{"Authorization", "Bearer " + actor.token}});
  };
  const std::vector<std::pair<Change, bool>> ways = {{patching({{"admin", false}}), false},
                                                     {patching({{"active", false}}), false},
                                                     {deleting, false},
                                                     {patching({{"admin", false}}), true},
                                                     {patching({{"active", false}}), true},
                                                     {deleting, true}};
  constexpr int kRounds = 120;
  for (int round = 0; round < kRounds; ++round) {
    fixture::execute(reset);
    const auto& [change, themselves] = ways[round % ways.size()];
    support::HttpConnection first("127.0.0.1", app->port());
    support::HttpConnection second("127.0.0.1", app->port());
    support::HttpResponse answers[2];
    std::mutex mutex;
    std::condition_variable open;
    int waiting = 2;
    auto racer = [&](int i, support::HttpConnection& connection, const Member& actor,
                     const Member& target) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        if (--waiting == 0) {
          open.notify_all();
        } else {
          open.wait(lock, [&] { return waiting == 0; });
        }
      }
      try {
        answers[i] = change(connection, actor, target);
      } catch (const std::exception& error) {
        answers[i].body = error.what();
      }
    };
    std::thread one(racer, 0, std::ref(first), std::cref(a), std::cref(themselves ? a : b));
    std::thread two(racer, 1, std::ref(second), std::cref(b), std::cref(themselves ? b : a));
    one.join();
    two.join();
    int admins =
        fixture::execute("SELECT count(*) FROM users WHERE admin AND active")[0][0].as<int>();
    ASSERT_EQ(admins, 1) << "round " << round << ": " << answers[0].status << " " << answers[0].body
                         << " / " << answers[1].status << " " << answers[1].body;
    int succeeded = 0;
    for (const auto& answer : answers) {
      if (answer.status == 200 || answer.status == 204) {
        ++succeeded;
      } else if (themselves) {
        EXPECT_EQ(answer.status, 409) << "round " << round << ": " << answer.body;
      } else {  // the winner took the loser's admin rights, account or row first
        EXPECT_EQ(answer.status, 401) << "round " << round << ": " << answer.body;
      }
    }
    EXPECT_EQ(succeeded, 1) << "round " << round;
  }
}

// --- audit and metrics ----------------------------------------------------------------

TEST_F(Account, EveryChange_WritesAnAuditLineWithoutValues_AndCounts) {
  auto admin = member("admin", true);
  auto ann = member("ann");
  auto bob = member("bob");
  auto metric = [](const std::string& action) {
    std::string text = get("/metrics").body;
    std::string key = "account_changes_total{action=\"" + action + "\"} ";
    auto at = text.find(key);
    return at == std::string::npos ? -1LL : std::stoll(text.substr(at + key.size()));
  };
  long long updates = metric("update"), deactivations = metric("deactivate"),
            deletions = metric("delete"), changes = metric("password_change");
  ASSERT_GE(updates, 0);

  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto logger = spdlog::default_logger();
  auto level = logger->level();
  logger->sinks().push_back(sink);
  logger->set_level(spdlog::level::info);
  const std::string replacement = "secret replacement password";
  std::string new_token;
  {
    EXPECT_EQ(patch(admin, ann.id, {{"username", "annie"}, {"email", "annie@example.org"}}).status,
              200);
    EXPECT_EQ(patch(admin, bob.id, {{"active", false}}).status, 200);
    auto changed = as(ann, "POST", "/auth/password",
                      json{{"current_password", kPassword}, {"new_password", replacement}}.dump());
    EXPECT_EQ(changed.status, 200);
    new_token = changed.json().value("auth_token", "");
    EXPECT_EQ(remove(admin, bob.id).status, 204);
  }
  logger->flush();
  logger->sinks().pop_back();
  logger->set_level(level);
  std::string log = captured.str();
  auto has = [&log](const std::string& part) { return log.find(part) != std::string::npos; };
  std::string a = std::to_string(admin.id);
  EXPECT_TRUE(has("audit: actor=" + a + " action=update user=" + std::to_string(ann.id) +
                  " fields=username,email"))
      << log;
  EXPECT_TRUE(has("audit: actor=" + a + " action=deactivate user=" + std::to_string(bob.id) +
                  " fields=active"))
      << log;
  EXPECT_TRUE(has("audit: actor=" + std::to_string(ann.id) +
                  " action=password_change user=" + std::to_string(ann.id)))
      << log;
  EXPECT_TRUE(has("audit: actor=" + a + " action=delete user=" + std::to_string(bob.id))) << log;
  for (const std::string& secret :
       {kPassword, replacement, ann.token, new_token, admin.token, std::string("annie@example.org"),
        std::string("annie"), bob.email}) {
    EXPECT_FALSE(has(secret)) << secret << " in:\n" << log;
  }
  EXPECT_EQ(metric("update"), updates + 1);
  EXPECT_EQ(metric("deactivate"), deactivations + 1);
  EXPECT_EQ(metric("delete"), deletions + 1);
  EXPECT_EQ(metric("password_change"), changes + 1);
}

}  // namespace
