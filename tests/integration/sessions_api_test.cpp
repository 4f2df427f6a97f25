// Sessions and refresh tokens over real HTTP against a real PostgreSQL: the
// session check in the account lookup's one round trip, logout, the
// per-user and admin endpoints, rotation, reuse ending the session, the
// grace window (also under concurrent retries and across two replicas),
// expiry, a password change against a manage reset, deactivation and
// deletion, marking last use once a minute, pruning, and bad input.
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "common/database.hpp"
#include "common/loop_runner.hpp"
#include "service_fixture.hpp"
#include "tokens.hpp"
#include "user_repository.hpp"

namespace {

using fixture::expect_fail;
using fixture::ServiceTest;
using nlohmann::json;

const std::string kPassword = "correct horse battery";
const char* const kInvalid = "Invalid token. Please log in again.";
const char* const kRevoked = "Token revoked. Please log in again.";

std::string fresh_address() {
  return fixture::fresh_address(20);
}

// What register, login, a password change and a refresh answer.
struct Pair {
  std::string access;
  std::string refresh;
  bool operator==(const Pair& other) const {
    return access == other.access && refresh == other.refresh;
  }
};

// A second app on the same database, configured by `overrides`.
std::unique_ptr<common::App> start_app(const std::map<std::string, std::string>& overrides) {
  auto app = users::create_app(fixture::testing_config(fixture::service().database_url, overrides));
  app->start();
  return app;
}

long long scalar(const std::string& sql) {
  return fixture::execute(sql)[0][0].as<long long>();
}

class Sessions : public ServiceTest {
 protected:
  support::HttpResponse send(const std::string& method, const std::string& path,
                             const std::string& body = "", support::Headers headers = {},
                             int on_port = port()) const {
    headers.emplace_back("X-Real-IP", address_);
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    return support::http_request(on_port, method, path, body, headers);
  }
  support::HttpResponse as(const std::string& token, const std::string& method,
                           const std::string& path, int on_port = port()) const {
    return send(method, path, "", {{"Authorization", "Bearer " + token}}, on_port);
  }
  static Pair pair_of(const support::HttpResponse& response) {
    auto body = response.json();
    return {body.value("auth_token", ""), body.value("refresh_token", "")};
  }
  // Registers `name` (a session opens) and returns the pair.
  Pair registered(const std::string& name, const std::string& agent = "test-agent/1") const {
    auto response = send(
        "POST", "/auth/register",
        json{{"username", name}, {"email", name + "@example.com"}, {"password", kPassword}}.dump(),
        {{"User-Agent", agent}});
    EXPECT_EQ(response.status, 201) << response.body;
    return pair_of(response);
  }
  Pair logged_in(const std::string& name, const std::string& agent = "test-agent/1") const {
    auto response = send("POST", "/auth/login",
                         json{{"email", name + "@example.com"}, {"password", kPassword}}.dump(),
                         {{"User-Agent", agent}});
    EXPECT_EQ(response.status, 200) << response.body;
    return pair_of(response);
  }
  support::HttpResponse refresh(const std::string& refresh_token, int on_port = port()) const {
    return send("POST", "/auth/refresh", json{{"refresh_token", refresh_token}}.dump(), {},
                on_port);
  }
  static long long id_of(const std::string& name) {
    return scalar("SELECT id FROM users WHERE email = '" + name + "@example.com'");
  }
  static long long open_sessions(const std::string& name) {
    return scalar("SELECT count(*) FROM sessions WHERE ended_at IS NULL AND user_id = " +
                  std::to_string(id_of(name)));
  }
  static void make_admin(const std::string& name) {
    fixture::execute("UPDATE users SET admin = true WHERE id = " + std::to_string(id_of(name)));
  }
  // The session id of an access token (its sid claim).
  static long long sid_of(const std::string& access) {
    return users::TokenCodec("secret", 3600).verify(access).session_id;
  }

  std::string address_ = fresh_address();
};

// Calls to the database so far (the pool's db_calls_total: one per statement
// or transaction sent, i.e. one round trip), read from /metrics.
long long database_calls(int port) {
  auto metrics = support::http_request(port, "GET", "/metrics");
  const std::string key = "\ndb_calls_total ";
  auto at = metrics.body.find(key);
  if (at == std::string::npos) throw std::runtime_error("no database call counter in /metrics");
  return std::stoll(metrics.body.substr(at + key.size()));
}

// --- the access token's session ----------------------------------------------------------

TEST_F(Sessions, AuthenticatedRequest_OneDatabaseRoundTripWithTheSessionCheck) {
  auto app = start_app({});  // its own counter: nothing else runs on it
  auto ann = registered("ann");
  ASSERT_EQ(as(ann.access, "GET", "/auth/status", app->port()).status, 200);
  long long first = database_calls(app->port());
  long long scrape = database_calls(app->port()) - first;  // a scrape's own calls
  long long before = database_calls(app->port());
  constexpr int kRequests = 20;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_EQ(as(ann.access, "GET", "/auth/status", app->port()).status, 200);
  }
  EXPECT_EQ(database_calls(app->port()) - before - scrape, kRequests)
      << "one call per authenticated request: the account and its session in one statement";
  // The same one call answers a refused token: the check is in that statement.
  fixture::execute("UPDATE sessions SET ended_at = now()");
  before = database_calls(app->port());
  for (int i = 0; i < kRequests; ++i) {
    expect_fail(as(ann.access, "GET", "/auth/status", app->port()), 401, kRevoked);
  }
  EXPECT_EQ(database_calls(app->port()) - before - scrape, kRequests);
}

TEST_F(Sessions, Login_OpensASessionListedNewestFirstWithTheCurrentMarked) {
  auto first = registered("ann", "first-agent/1.0");
  auto second = logged_in("ann", "second-agent/2.0 \xc3\xa9");  // obs-text: shown as ?
  auto listed = as(second.access, "GET", "/auth/sessions");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.header("Cache-Control"), "");
  auto sessions = listed.json()["data"]["sessions"];
  ASSERT_EQ(sessions.size(), 2u) << listed.body;
  EXPECT_EQ(sessions[0]["id"], sid_of(second.access));
  EXPECT_EQ(sessions[0]["current"], true);
  EXPECT_EQ(sessions[0]["user_agent"], "second-agent/2.0 ??");
  EXPECT_EQ(sessions[0]["client_address"], address_);
  EXPECT_EQ(sessions[1]["id"], sid_of(first.access));
  EXPECT_EQ(sessions[1]["current"], false);
  EXPECT_EQ(sessions[1]["user_agent"], "first-agent/1.0");
  EXPECT_EQ(sessions[1]["created_at"].get<std::string>().size(), 20u);  // 2026-12-06T17:40:00Z
  // Another user's sessions are not in the list.
  registered("bob");
  EXPECT_EQ(as(first.access, "GET", "/auth/sessions").json()["data"]["sessions"].size(), 2u);
}

TEST_F(Sessions, TokenNamingAnotherUsersSession_IsRevoked) {
  auto ann = registered("ann");
  auto bob = registered("bob");
  // Signed with the app's key: only the pairing of user and session is wrong.
  auto forged = users::TokenCodec("secret", 3600)
                    .issue(id_of("ann"), 0, sid_of(bob.access), std::time(nullptr))
                    .token;
  expect_fail(as(forged, "GET", "/auth/status"), 401, kRevoked);
  auto unknown =
      users::TokenCodec("secret", 3600).issue(id_of("ann"), 0, 999999, std::time(nullptr)).token;
  expect_fail(as(unknown, "GET", "/auth/status"), 401, kRevoked);
  EXPECT_EQ(as(ann.access, "GET", "/auth/status").status, 200);
}

TEST_F(Sessions, Logout_EndsItsSessionOnlyOnEveryReplica) {
  auto other = start_app({});
  auto first = registered("ann");
  auto second = logged_in("ann");
  ASSERT_EQ(as(first.access, "GET", "/auth/logout").status, 200);
  expect_fail(as(first.access, "GET", "/auth/status", other->port()), 401, kRevoked);
  expect_fail(refresh(first.refresh, other->port()), 401, kInvalid);
  EXPECT_EQ(as(second.access, "GET", "/auth/status", other->port()).status, 200);
  EXPECT_EQ(refresh(second.refresh).status, 200);
  EXPECT_EQ(open_sessions("ann"), 1);
}

TEST_F(Sessions, LastUsed_MarkedAtMostOnceAMinute) {
  auto ann = registered("ann");
  auto sid = std::to_string(sid_of(ann.access));
  auto age = [&] {
    return scalar(
        "SELECT extract(epoch FROM now() - last_used_at)::bigint FROM sessions"
        " WHERE id = " +
        sid);
  };
  fixture::execute("UPDATE sessions SET last_used_at = now() - interval '30 seconds'");
  ASSERT_EQ(as(ann.access, "GET", "/auth/status").status, 200);
  EXPECT_GE(age(), 29) << "under a minute old: left alone, no write";
  fixture::execute("UPDATE sessions SET last_used_at = now() - interval '2 minutes'");
  ASSERT_EQ(as(ann.access, "GET", "/auth/status").status, 200);
  EXPECT_LE(age(), 5) << "over a minute old: marked by the request's own statement";
}

// --- the caller's sessions -----------------------------------------------------------------

TEST_F(Sessions, DeleteOwnSession_EndsItsTokensAndOnlyIt) {
  auto phone = registered("ann");
  auto laptop = logged_in("ann");
  auto bob = registered("bob");
  auto path = "/auth/sessions/" + std::to_string(sid_of(phone.access));
  auto ended = as(laptop.access, "DELETE", path);
  EXPECT_EQ(ended.status, 204) << ended.body;
  EXPECT_EQ(ended.body, "");
  expect_fail(as(phone.access, "GET", "/auth/status"), 401, kRevoked);
  expect_fail(refresh(phone.refresh), 401, kInvalid);
  EXPECT_EQ(as(laptop.access, "GET", "/auth/status").status, 200);
  // Again, another user's, one that never was: the same 404, nothing ended.
  expect_fail(as(laptop.access, "DELETE", path), 404, "Session does not exist");
  expect_fail(as(laptop.access, "DELETE", "/auth/sessions/" + std::to_string(sid_of(bob.access))),
              404, "Session does not exist");
  for (const char* absent : {"987654", "0", "-1"}) {
    expect_fail(as(laptop.access, "DELETE", std::string("/auth/sessions/") + absent), 404,
                "Session does not exist");
  }
  EXPECT_EQ(as(bob.access, "GET", "/auth/status").status, 200);
  for (const char* bad : {"abc", "1.5", "99999999999999999999"}) {
    expect_fail(as(laptop.access, "DELETE", std::string("/auth/sessions/") + bad), 400,
                "Param id error");
  }
}

TEST_F(Sessions, DeleteOwnSessions_EndsAllButTheCurrent) {
  auto one = registered("ann");
  auto two = logged_in("ann");
  auto three = logged_in("ann");
  auto bob = registered("bob");
  EXPECT_EQ(as(two.access, "DELETE", "/auth/sessions").status, 204);
  expect_fail(as(one.access, "GET", "/auth/status"), 401, kRevoked);
  expect_fail(as(three.access, "GET", "/auth/status"), 401, kRevoked);
  expect_fail(refresh(three.refresh), 401, kInvalid);
  EXPECT_EQ(as(two.access, "GET", "/auth/status").status, 200);
  auto listed = as(two.access, "GET", "/auth/sessions").json()["data"]["sessions"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["current"], true);
  EXPECT_EQ(as(bob.access, "GET", "/auth/status").status, 200);
}

TEST_F(Sessions, WithoutOrWithABadToken_403Or401) {
  for (const char* method : {"GET", "DELETE"}) {
    expect_fail(send(method, "/auth/sessions"), 403, "Provide a valid auth token.");
    expect_fail(as("garbage", method, "/auth/sessions"), 401, kInvalid);
    expect_fail(send(method, "/users/1/sessions"), 403, "Provide a valid auth token.");
  }
  expect_fail(send("DELETE", "/auth/sessions/1"), 403, "Provide a valid auth token.");
}

// --- an admin's view ---------------------------------------------------------------------

TEST_F(Sessions, Admin_ListsAndEndsAUsersSessions) {
  auto boss = registered("boss");
  make_admin("boss");
  auto ann = registered("ann");
  auto ann_again = logged_in("ann");
  auto path = "/users/" + std::to_string(id_of("ann")) + "/sessions";
  auto listed = as(boss.access, "GET", path);
  ASSERT_EQ(listed.status, 200) << listed.body;
  auto sessions = listed.json()["data"]["sessions"];
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions[0]["current"], false);
  EXPECT_EQ(sessions[1]["current"], false);
  // The admin's own list through this route marks their current session.
  auto own = as(boss.access, "GET", "/users/" + std::to_string(id_of("boss")) + "/sessions");
  EXPECT_EQ(own.json()["data"]["sessions"][0]["current"], true);

  EXPECT_EQ(as(boss.access, "DELETE", path).status, 204);
  expect_fail(as(ann.access, "GET", "/auth/status"), 401, kRevoked);
  expect_fail(as(ann_again.access, "GET", "/auth/status"), 401, kRevoked);
  expect_fail(refresh(ann_again.refresh), 401, kInvalid);
  EXPECT_EQ(open_sessions("ann"), 0);
  EXPECT_EQ(as(boss.access, "GET", "/auth/status").status, 200);
  EXPECT_EQ(as(boss.access, "GET", path).json()["data"]["sessions"].size(), 0u);

  expect_fail(as(boss.access, "GET", "/users/424242/sessions"), 404, "User does not exist");
  expect_fail(as(boss.access, "DELETE", "/users/424242/sessions"), 404, "User does not exist");
  expect_fail(as(boss.access, "GET", "/users/abc/sessions"), 400, "Param id error");
}

TEST_F(Sessions, NonAdmin_CannotSeeOrEndAnybodysSessionsThisWay) {
  auto ann = registered("ann");
  auto bob = registered("bob");
  for (const auto& target : {id_of("bob"), id_of("ann")}) {
    auto path = "/users/" + std::to_string(target) + "/sessions";
    expect_fail(as(ann.access, "GET", path), 401, "You do not have permission to do that.");
    expect_fail(as(ann.access, "DELETE", path), 401, "You do not have permission to do that.");
  }
  EXPECT_EQ(as(bob.access, "GET", "/auth/status").status, 200);
  EXPECT_EQ(open_sessions("bob"), 1);
}

// --- refresh tokens ------------------------------------------------------------------------

TEST_F(Sessions, Refresh_RotatesIntoANewPairOfTheSameSession) {
  auto ann = registered("ann");
  auto response = refresh(ann.refresh);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("Cache-Control"), "no-store");
  auto body = response.json();
  EXPECT_EQ(body["status"], "success");
  EXPECT_EQ(body["message"], "Token refreshed.");
  EXPECT_EQ(body["expires_in"], 3600);
  auto next = pair_of(response);
  EXPECT_NE(next.refresh, ann.refresh);
  EXPECT_NE(next.access, ann.access);
  EXPECT_EQ(sid_of(next.access), sid_of(ann.access));
  EXPECT_EQ(as(next.access, "GET", "/auth/status").status, 200);
  // Only the SHA-256 of each is stored, the old one retired, the new one current.
  auto stored = [](const std::string& token) {
    return fixture::execute(
        "SELECT retired_at IS NOT NULL FROM refresh_tokens WHERE hash = sha256('" + token +
        "'::bytea)");
  };
  ASSERT_EQ(stored(ann.refresh).size(), 1u);
  EXPECT_TRUE(stored(ann.refresh)[0][0].as<bool>());
  ASSERT_EQ(stored(next.refresh).size(), 1u);
  EXPECT_FALSE(stored(next.refresh)[0][0].as<bool>());
  // The new refresh token rotates in its turn.
  auto third = refresh(next.refresh);
  ASSERT_EQ(third.status, 200) << third.body;
  EXPECT_EQ(as(pair_of(third).access, "GET", "/auth/status").status, 200);
  EXPECT_EQ(open_sessions("ann"), 1);
  // The session was used: a refresh marks it.
  EXPECT_LE(scalar("SELECT extract(epoch FROM now() - last_used_at)::bigint FROM sessions"), 5);
}

TEST_F(Sessions, Refresh_ReusedAfterTheGraceWindow_EndsTheWholeSession) {
  auto strict = start_app({{"REFRESH_TOKEN_GRACE_SECONDS", "0"}});
  auto ann = registered("ann");
  auto other = logged_in("ann");
  auto rotated = refresh(ann.refresh, strict->port());
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  auto next = pair_of(rotated);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past a grace of 0 s
  // The old token again: someone holds a copy. The session ends for both.
  expect_fail(refresh(ann.refresh, strict->port()), 401, kInvalid);
  expect_fail(refresh(next.refresh, strict->port()), 401, kInvalid);
  expect_fail(as(next.access, "GET", "/auth/status"), 401, kRevoked);
  expect_fail(as(ann.access, "GET", "/auth/status"), 401, kRevoked);
  // The user's other session is not touched.
  EXPECT_EQ(as(other.access, "GET", "/auth/status").status, 200);
  EXPECT_EQ(refresh(other.refresh).status, 200);
}

TEST_F(Sessions, Refresh_RetriedWithinTheGraceWindow_AnswersTheSamePair) {
  auto ann = registered("ann");
  auto first = refresh(ann.refresh);
  ASSERT_EQ(first.status, 200) << first.body;
  auto retried = refresh(ann.refresh);  // the client never saw the first answer
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(pair_of(retried), pair_of(first));
  EXPECT_GT(retried.json()["expires_in"].get<long long>(), 3590);
  EXPECT_EQ(retried.header("Cache-Control"), "no-store");
  // The session is intact, and the pair works and rotates on.
  EXPECT_EQ(as(pair_of(retried).access, "GET", "/auth/status").status, 200);
  EXPECT_EQ(refresh(pair_of(retried).refresh).status, 200);
  EXPECT_EQ(open_sessions("ann"), 1);
  // Once its window has passed, the same retry is a reuse.
  fixture::execute(
      "UPDATE refresh_tokens SET retired_at = now() - interval '11 seconds'"
      " WHERE retired_at IS NOT NULL");
  expect_fail(refresh(ann.refresh), 401, kInvalid);
  EXPECT_EQ(open_sessions("ann"), 0);
}

TEST_F(Sessions, Refresh_ConcurrentRetriesOfOneToken_AllGetOnePair) {
  auto other = start_app({});
  auto ann = registered("ann");
  constexpr int kClients = 12;
  std::vector<support::HttpResponse> answers(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      answers[static_cast<std::size_t>(i)] = refresh(ann.refresh, i % 2 ? other->port() : port());
    });
  }
  for (auto& client : clients) client.join();
  for (const auto& answer : answers) {
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(pair_of(answer), pair_of(answers[0]));
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM refresh_tokens WHERE retired_at IS NULL"), 1)
      << "one rotation happened";
  EXPECT_EQ(open_sessions("ann"), 1);
}

TEST_F(Sessions, Refresh_OnOneReplicaReusedOnAnother_EndsTheSessionOnBoth) {
  auto first = start_app({{"REFRESH_TOKEN_GRACE_SECONDS", "0"}});
  auto second = start_app({{"REFRESH_TOKEN_GRACE_SECONDS", "0"}});
  auto ann = registered("ann");
  auto rotated = refresh(ann.refresh, first->port());
  ASSERT_EQ(rotated.status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  expect_fail(refresh(ann.refresh, second->port()), 401, kInvalid);
  expect_fail(as(pair_of(rotated).access, "GET", "/auth/status", first->port()), 401, kRevoked);
  expect_fail(refresh(pair_of(rotated).refresh, first->port()), 401, kInvalid);
}

TEST_F(Sessions, Refresh_ExpiredUnused_RefusedWithoutEndingTheSession) {
  auto ann = registered("ann");
  long long ttl = scalar(
      "SELECT extract(epoch FROM expires_at - created_at)::bigint FROM refresh_tokens LIMIT 1");
  EXPECT_EQ(ttl, 2592000) << "REFRESH_TOKEN_TTL_SECONDS, 30 days by default";
  fixture::execute("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'");
  expect_fail(refresh(ann.refresh), 401, kInvalid);
  EXPECT_EQ(as(ann.access, "GET", "/auth/status").status, 200);
  EXPECT_EQ(open_sessions("ann"), 1);
}

TEST_F(Sessions, Refresh_BadInput_400UnknownToken_401) {
  registered("ann");
  for (const std::string& body :
       {std::string("{}"), std::string("[]"), std::string("not json"),
        std::string(R"({"refresh_token":""})"), std::string(R"({"refresh_token":7})"),
        std::string(R"({"refresh_token":null})"),
        json{{"refresh_token", std::string(513, 'a')}}.dump()}) {
    expect_fail(send("POST", "/auth/refresh", body), 400, "Invalid payload.");
  }
  expect_fail(support::http_request(port(), "POST", "/auth/refresh", R"({"refresh_token":"x"})",
                                    {{"Content-Type", "text/plain"}}),
              400, "Invalid payload.");
  for (const std::string& token :
       {std::string("x"), std::string(43, 'A'), std::string(43, '!'), std::string(512, 'a')}) {
    expect_fail(refresh(token), 401, kInvalid);
  }
  EXPECT_EQ(open_sessions("ann"), 1);
}

// --- what ends sessions --------------------------------------------------------------------

TEST_F(Sessions, PasswordChange_KeepsTheCallersSessionEndsTheOthers) {
  auto phone = registered("ann");
  auto laptop = logged_in("ann");
  auto changed =
      send("POST", "/auth/password",
           json{{"current_password", kPassword}, {"new_password", "a new password"}}.dump(),
           {{"Authorization", "Bearer " + laptop.access}});
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(changed.header("Cache-Control"), "no-store");
  auto renewed = pair_of(changed);
  EXPECT_EQ(sid_of(renewed.access), sid_of(laptop.access)) << "the same session";
  EXPECT_EQ(changed.json()["expires_in"], 3600);
  EXPECT_EQ(as(renewed.access, "GET", "/auth/status").status, 200);
  // The caller's old pair is done (the password it was issued under changed).
  expect_fail(as(laptop.access, "GET", "/auth/status"), 401, kInvalid);
  expect_fail(refresh(laptop.refresh), 401, kInvalid);
  // The other session ended: its access and refresh tokens are refused.
  expect_fail(as(phone.access, "GET", "/auth/status"), 401, kInvalid);
  expect_fail(refresh(phone.refresh), 401, kInvalid);
  auto listed = as(renewed.access, "GET", "/auth/sessions").json()["data"]["sessions"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], sid_of(laptop.access));
  auto next = refresh(renewed.refresh);
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(as(pair_of(next).access, "GET", "/auth/status").status, 200);
}

TEST_F(Sessions, ResetByManageCreateAdmin_EndsEverySession) {
  auto ann = registered("ann");
  auto again = logged_in("ann");
  // What `manage create_admin` runs for an existing email: a new password,
  // through the service's own statement on a LoopRunner, as manage does.
  common::Database database(fixture::service().database_url, users::UserRepository::statements(),
                            1);
  common::LoopRunner runner;
  users::UserRepository repository(database);
  runner.run([&] {
    repository.save_admin(users::NewUser{"ann", "ann@example.com"}, "$argon2id$stand-in");
  });
  EXPECT_EQ(open_sessions("ann"), 0);
  expect_fail(refresh(ann.refresh), 401, kInvalid);
  expect_fail(refresh(again.refresh), 401, kInvalid);
}

TEST_F(Sessions, Deactivation_EndsEverySessionAndReactivationRevivesNone) {
  auto boss = registered("boss");
  make_admin("boss");
  auto ann = registered("ann");
  auto again = logged_in("ann");
  auto path = "/users/" + std::to_string(id_of("ann"));
  auto patch = [&](bool active) {
    return send("PATCH", path, json{{"active", active}}.dump(),
                {{"Authorization", "Bearer " + boss.access}});
  };
  ASSERT_EQ(patch(false).status, 200);
  EXPECT_EQ(open_sessions("ann"), 0);
  expect_fail(refresh(ann.refresh), 401, kInvalid);
  expect_fail(refresh(again.refresh), 401, kInvalid);
  ASSERT_EQ(patch(true).status, 200);
  expect_fail(refresh(again.refresh), 401, kInvalid);
  EXPECT_EQ(open_sessions("ann"), 0);
  EXPECT_EQ(as(boss.access, "GET", "/auth/status").status, 200);
}

TEST_F(Sessions, Deletion_TakesEverySessionAndRefreshTokenWithIt) {
  auto ann = registered("ann");
  logged_in("ann");
  ASSERT_EQ(as(ann.access, "DELETE", "/users/" + std::to_string(id_of("ann"))).status, 204);
  EXPECT_EQ(scalar("SELECT count(*) FROM sessions"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM refresh_tokens"), 0);
  expect_fail(refresh(ann.refresh), 401, kInvalid);
}

TEST_F(Sessions, SessionEndedBeforeAChangeCommits_TheChangeIsRefused) {
  auto ann = registered("ann");
  long long id = id_of("ann");
  long long sid = sid_of(ann.access);
  // A PATCH whose token was checked a moment before its session ended: the
  // change's own statement, after the row's lock, checks the session again.
  fixture::execute("UPDATE sessions SET ended_at = now()");
  common::Database database(fixture::service().database_url, users::UserRepository::statements(),
                            1);
  common::LoopRunner runner;
  users::UserRepository repository(database);
  users::UserChanges changes;
  changes.username = "annie";
  auto result = runner.call([&] {
    return repository.update(id, changes, std::nullopt, users::Actor{id, 0, false, sid});
  });
  EXPECT_EQ(result.status, users::ChangeStatus::actor_revoked);
  auto removed = runner.call([&] {
    return repository.remove(id, std::nullopt, users::Actor{id, 0, true, sid});
  });
  EXPECT_EQ(removed.status, users::ChangeStatus::actor_revoked);
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE username = 'ann'"), 1)
      << "unchanged, not deleted";
  // Through HTTP the token's own check refuses it first.
  expect_fail(send("PATCH", "/users/" + std::to_string(id), json{{"username", "annie"}}.dump(),
                   {{"Authorization", "Bearer " + ann.access}}),
              401, kRevoked);
}

// --- pruning -------------------------------------------------------------------------------

TEST_F(Sessions, Login_PrunesEndedIdleAndExpiredInSmallBatches) {
  registered("ann");
  long long ann = id_of("ann");
  auto user = std::to_string(ann);
  fixture::execute("INSERT INTO sessions (user_id, ended_at) SELECT " + user +
                   ", now() - g * interval '1 second' FROM generate_series(1, 150) g");
  fixture::execute("INSERT INTO sessions (user_id, last_used_at) SELECT " + user +
                   ", now() - interval '40 days' FROM generate_series(1, 3)");
  fixture::execute(
      "INSERT INTO refresh_tokens (hash, session_id, expires_at)"
      " SELECT sha256(g::text::bytea), (SELECT min(id) FROM sessions WHERE ended_at IS NULL),"
      " now() - interval '1 minute' FROM generate_series(1, 120) g");
  logged_in("ann");
  EXPECT_EQ(scalar("SELECT count(*) FROM sessions WHERE ended_at IS NOT NULL"), 50)
      << "one batch of 100";
  EXPECT_EQ(scalar("SELECT count(*) FROM sessions WHERE last_used_at < now() - interval '31 days'"),
            0);
  EXPECT_EQ(scalar("SELECT count(*) FROM refresh_tokens WHERE expires_at < now()"), 20);
  auto last = logged_in("ann");
  EXPECT_EQ(scalar("SELECT count(*) FROM sessions WHERE ended_at IS NOT NULL"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM refresh_tokens WHERE expires_at < now()"), 0);
  EXPECT_EQ(open_sessions("ann"), 3);  // the registration's and the two logins'
  EXPECT_EQ(as(last.access, "GET", "/auth/sessions").json()["data"]["sessions"].size(), 3u);
}

}  // namespace
