// The auth API over real HTTP against a real PostgreSQL: the whole flow, every
// failure, logout across two app instances, expiry, the login rate limit
// (in PostgreSQL: counted before the hash, per-email back-off, across
// replicas), the bound on hashes at once, REQUIRE_ADMIN_FOR_WRITES,
// REQUIRE_AUTH_FOR_READS, and no credential in any log line.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <sstream>
#include <thread>

#include "service_fixture.hpp"
#include "tokens.hpp"

namespace {

using fixture::expect_fail;
using fixture::ServiceTest;
using nlohmann::json;

const std::string kPassword = "correct horse battery";

std::string fresh_address() {
  return fixture::fresh_address(18);
}

std::string fresh_email(const std::string& name) {
  static std::atomic<int> next{1};
  return name + std::to_string(next++) + "@example.com";
}

class Auth : public ServiceTest {
 protected:
  // Requests to the app on `port`, from this test's address.
  support::HttpResponse send(int port, const std::string& method, const std::string& path,
                             const std::string& body = "", support::Headers headers = {}) const {
    headers.emplace_back("X-Real-IP", address_);
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    return support::http_request(port, method, path, body, headers);
  }
  support::HttpResponse register_user(const std::string& email,
                                      const std::string& password = kPassword,
                                      int on_port = port()) const {
    return send(on_port, "POST", "/auth/register",
                json{{"username", "michael"}, {"email", email}, {"password", password}}.dump());
  }
  support::HttpResponse login(const std::string& email, const std::string& password,
                              int on_port = port()) const {
    return send(on_port, "POST", "/auth/login",
                json{{"email", email}, {"password", password}}.dump());
  }
  support::HttpResponse with_token(const std::string& path, const std::string& token,
                                   int on_port = port()) const {
    return send(on_port, "GET", path, "", {{"Authorization", "Bearer " + token}});
  }
  // Registers `email` and returns its token.
  std::string token_for(const std::string& email, int on_port = port()) const {
    auto response = register_user(email, kPassword, on_port);
    EXPECT_EQ(response.status, 201) << response.body;
    return response.json().value("auth_token", "");
  }

  std::string address_ = fresh_address();
};

// A second app on the same database, configured by `overrides`.
std::unique_ptr<common::App> start_app(const std::map<std::string, std::string>& overrides) {
  auto app = users::create_app(fixture::testing_config(fixture::service().database_url, overrides));
  app->start();
  return app;
}

void expect_token_body(const support::HttpResponse& response, int status,
                       const std::string& message) {
  EXPECT_EQ(response.status, status) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  auto body = response.json();
  EXPECT_EQ(body.size(), 5u) << response.body;
  EXPECT_EQ(body.value("status", ""), "success");
  EXPECT_EQ(body.value("message", ""), message);
  std::string token = body.value("auth_token", "");
  EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2) << response.body;
  EXPECT_EQ(body.value("refresh_token", "").size(), 43u) << response.body;
  EXPECT_EQ(body.value("expires_in", 0), 3600) << response.body;
}

// --- the flow ------------------------------------------------------------------

TEST_F(Auth, RegisterStatusLogout_TheWholeFlow) {
  std::string email = fresh_email("flow");
  auto registered = register_user(email);
  expect_token_body(registered, 201, "Successfully registered.");
  auto token = registered.json()["auth_token"].get<std::string>();

  auto status = with_token("/auth/status", token);
  ASSERT_EQ(status.status, 200) << status.body;
  auto data = status.json()["data"];
  EXPECT_EQ(status.json()["status"], "success");
  EXPECT_EQ(data["username"], "michael");
  EXPECT_EQ(data["email"], email);
  EXPECT_EQ(data["admin"], false);
  EXPECT_TRUE(data["id"].is_number_integer());
  EXPECT_TRUE(data.contains("active"));
  EXPECT_TRUE(data.contains("created_at"));
  EXPECT_FALSE(data.contains("password"));
  EXPECT_EQ(status.body.find("argon2"), std::string::npos);

  auto logged_in = login(email, kPassword);
  expect_token_body(logged_in, 200, "Successfully logged in.");
  auto second = logged_in.json()["auth_token"].get<std::string>();
  EXPECT_NE(second, token);

  auto logout = with_token("/auth/logout", token);
  EXPECT_EQ(logout.status, 200) << logout.body;
  EXPECT_EQ(logout.json(), json({{"status", "success"}, {"message", "Successfully logged out."}}));
  expect_fail(with_token("/auth/status", token), 401, "Token revoked. Please log in again.");
  expect_fail(with_token("/auth/logout", token), 401, "Token revoked. Please log in again.");
  // Only that token: the one from the login still works.
  EXPECT_EQ(with_token("/auth/status", second).status, 200);
}

TEST_F(Auth, Register_StoresAnArgon2idHashNeverThePassword) {
  std::string email = fresh_email("hash");
  ASSERT_EQ(register_user(email).status, 201);
  auto rows = fixture::execute("SELECT password, admin FROM users");
  ASSERT_EQ(rows.size(), 1u);
  auto stored = rows[0][0].as<std::string>();
  EXPECT_EQ(stored.rfind("$argon2id$", 0), 0u) << stored;
  EXPECT_EQ(stored.find(kPassword), std::string::npos);
  EXPECT_FALSE(rows[0][1].as<bool>());
  // Not in the users API either.
  EXPECT_EQ(get("/users").body.find("argon2"), std::string::npos);
}

TEST_F(Auth, Login_EmailIsCaseInsensitive) {
  std::string email = fresh_email("Case");
  ASSERT_EQ(register_user(email).status, 201);
  std::string upper = email;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  expect_token_body(login(upper, kPassword), 200, "Successfully logged in.");
}

// --- register failures ---------------------------------------------------------------

TEST_F(Auth, Register_DuplicateEmail_Returns400) {
  std::string email = fresh_email("dup");
  ASSERT_EQ(register_user(email).status, 201);
  expect_fail(register_user(email), 400, "Sorry. That user already exists.");
  std::string upper = email;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  expect_fail(register_user(upper), 400, "Sorry. That user already exists.");
  // A user made by POST /users is a user too.
  ASSERT_EQ(add_user("old", "old@example.com").status, 201);
  expect_fail(register_user("old@example.com"), 400, "Sorry. That user already exists.");
}

// A taken email is refused before the Argon2 hash: the pool's count of
// computations does not move (and a new email moves it by one).
TEST_F(Auth, Register_TakenEmail_SpendsNoHash) {
  auto computations = [] {
    std::string text = get("/metrics").body;
    const std::string key = "\npassword_hash_computations_total ";
    auto at = text.find(key);
    return at == std::string::npos ? -1LL : std::stoll(text.substr(at + key.size()));
  };
  std::string email = fresh_email("spent");
  ASSERT_EQ(register_user(email).status, 201);
  long long before = computations();
  ASSERT_GE(before, 1);
  std::string upper = email;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  for (const auto& taken : {email, upper}) {
    expect_fail(register_user(taken), 400, "Sorry. That user already exists.");
  }
  EXPECT_EQ(computations(), before);
  ASSERT_EQ(register_user(fresh_email("fresh")).status, 201);
  EXPECT_EQ(computations(), before + 1);
}

TEST_F(Auth, Register_InvalidPayloads_Return400) {
  for (const std::string& body : {
           std::string("{}"),
           std::string("[]"),
           std::string("not json"),
           std::string(R"({"username":"m","email":"m@example.com"})"),
           std::string(R"({"email":"m@example.com","password":"long enough"})"),
           std::string(R"({"username":"m","password":"long enough"})"),
           std::string(R"({"username":"m","email":"m@example.com","password":"short"})"),
           std::string(R"({"username":"m","email":"m@example.com","password":"        "})"),
           R"({"username":"m","email":"m@example.com","password":")" + std::string(129, 'x') +
               "\"}",
           std::string(R"({"username":"m","email":"m@example.com","password":12345678})"),
           std::string(R"({"username":"m","email":"not-an-email","password":"long enough"})"),
           std::string(R"({"username":"  ","email":"m@example.com","password":"long enough"})"),
       }) {
    expect_fail(send(port(), "POST", "/auth/register", body), 400, "Invalid payload.");
  }
  expect_fail(send(port(), "POST", "/auth/register", "", {{"Content-Type", "application/json"}}),
              400, "Invalid payload.");
  expect_fail(
      support::http_request(port(), "POST", "/auth/register",
                            R"({"username":"m","email":"m@example.com","password":"long enough"})",
                            {{"Content-Type", "text/plain"}}),
      400, "Invalid payload.");
  EXPECT_EQ(user_count(), 0);
}

// --- login failures ---------------------------------------------------------------------

// A token is a credential: no cache may keep the answers that carry one; the
// answers that carry none need not say so.
TEST_F(Auth, TokenAnswers_AreNoStore) {
  std::string email = fresh_email("nostore");
  auto registered = register_user(email);
  ASSERT_EQ(registered.status, 201) << registered.body;
  EXPECT_EQ(registered.header("Cache-Control"), "no-store");
  auto logged_in = login(email, kPassword);
  ASSERT_EQ(logged_in.status, 200) << logged_in.body;
  EXPECT_EQ(logged_in.header("Cache-Control"), "no-store");
  auto status = with_token("/auth/status", logged_in.json()["auth_token"].get<std::string>());
  EXPECT_EQ(status.header("Cache-Control"), "");
}

TEST_F(Auth, Login_WrongPasswordAndUnknownEmail_SameAnswer) {
  std::string email = fresh_email("who");
  ASSERT_EQ(register_user(email).status, 201);
  auto wrong = login(email, "not the password");
  auto unknown = login(fresh_email("nobody"), kPassword);
  expect_fail(wrong, 401, "Invalid credentials.");
  expect_fail(unknown, 401, "Invalid credentials.");
  EXPECT_EQ(wrong.body, unknown.body);
}

TEST_F(Auth, Login_UserWithoutPassword_Returns401) {
  ASSERT_EQ(add_user("old", "nopass@example.com").status, 201);
  expect_fail(login("nopass@example.com", ""), 401, "Invalid credentials.");
  expect_fail(login("nopass@example.com", kPassword), 401, "Invalid credentials.");
}

TEST_F(Auth, Login_InvalidPayloads_Return400) {
  for (const std::string& body :
       {std::string("{}"), std::string("nope"), std::string(R"({"email":"m@example.com"})"),
        std::string(R"({"password":"long enough"})"),
        std::string(R"({"email":"","password":"long enough"})"),
        std::string(R"({"email":["m@example.com"],"password":"long enough"})")}) {
    expect_fail(send(port(), "POST", "/auth/login", body), 400, "Invalid payload.");
  }
}

// With a production hash cost the hash dominates: an unknown email must cost
// as much as a wrong password (a dummy verification), or the time would tell.
TEST_F(Auth, Login_UnknownEmailTakesAsLongAsAWrongPassword) {
  auto app = start_app({{"PASSWORD_HASH_COST", "interactive"}});
  std::string email = fresh_email("timing");
  ASSERT_EQ(register_user(email, kPassword, app->port()).status, 201);
  auto timed = [&](const std::string& who) {
    auto start = std::chrono::steady_clock::now();
    auto response = login(who, "wrong password", app->port());
    EXPECT_EQ(response.status, 401) << response.body;
    return std::chrono::steady_clock::now() - start;
  };
  std::vector<std::chrono::nanoseconds> wrong, unknown;
  for (int i = 0; i < 3; ++i) {
    wrong.push_back(timed(email));
    unknown.push_back(timed(fresh_email("ghost")));
  }
  std::sort(wrong.begin(), wrong.end());
  std::sort(unknown.begin(), unknown.end());
  // Medians within a factor of two (a missing dummy hash would be ~100x faster).
  EXPECT_GT(unknown[1] * 2, wrong[1]);
  EXPECT_GT(wrong[1] * 2, unknown[1]);
}

// --- the rate limit ---------------------------------------------------------------------

TEST_F(Auth, Login_TenFailuresFromOneAddress_Then429EvenWithTheRightPassword) {
  std::string email = fresh_email("limited");
  ASSERT_EQ(register_user(email).status, 201);
  for (int i = 0; i < 10; ++i) {
    expect_fail(login(fresh_email("guess"), "guess"), 401, "Invalid credentials.");
  }
  auto limited = login(email, kPassword);
  expect_fail(limited, 429, "Too many failed logins. Please try again later.");
  int retry_after = std::atoi(limited.header("Retry-After").c_str());
  EXPECT_GE(retry_after, 1) << limited.header("Retry-After");
  EXPECT_LE(retry_after, 60) << limited.header("Retry-After");
  // Another client is not affected.
  address_ = fresh_address();
  expect_token_body(login(email, kPassword), 200, "Successfully logged in.");
}

TEST_F(Auth, Login_TenFailuresOnOneEmail_Then429FromAnyAddress) {
  std::string email = fresh_email("target");
  ASSERT_EQ(register_user(email).status, 201);
  for (int i = 0; i < 10; ++i) {
    address_ = fresh_address();
    expect_fail(login(email, "guess " + std::to_string(i)), 401, "Invalid credentials.");
  }
  address_ = fresh_address();
  expect_fail(login(email, kPassword), 429, "Too many failed logins. Please try again later.");
  // Other accounts are not affected.
  std::string other = fresh_email("bystander");
  ASSERT_EQ(register_user(other).status, 201);
  EXPECT_EQ(login(other, kPassword).status, 200);
}

// X-Real-IP from a peer that is not a trusted proxy is ignored: a client
// cannot dodge the limit by making up addresses.
TEST_F(Auth, Login_UntrustedXRealIp_IsIgnoredByTheLimit) {
  auto app = start_app({{"TRUSTED_PROXIES", "192.0.2.1"}, {"LOGIN_MAX_FAILURES", "3"}});
  for (int i = 0; i < 3; ++i) {
    address_ = fresh_address();
    EXPECT_EQ(login(fresh_email("spoof"), "guess", app->port()).status, 401);
  }
  address_ = fresh_address();
  EXPECT_EQ(login(fresh_email("spoof"), "guess", app->port()).status, 429);
}

// The counters live in PostgreSQL; "time passes" for a key by moving its
// row's times back.
void age_counter(const std::string& key, int seconds) {
  std::string by = "interval '" + std::to_string(seconds) + " seconds'";
  fixture::execute("UPDATE login_attempts SET window_start = window_start - " + by +
                   ", blocked_until = blocked_until - " + by + ", expires_at = expires_at - " + by +
                   " WHERE key = '" + key + "'");
}

long long attempts_of(const std::string& key) {
  auto rows = fixture::execute("SELECT attempts FROM login_attempts WHERE key = '" + key + "'");
  return rows.empty() ? -1 : rows[0][0].as<long long>();
}

int retry_after_of(const support::HttpResponse& response) {
  EXPECT_EQ(response.status, 429) << response.body;
  return std::atoi(response.header("Retry-After").c_str());
}

// Every spelling that opens an account counts on its one key. The test
// cluster is C.UTF-8 (scripts/pg.sh), where lower() folds KELVIN SIGN
// (U+212A) to k and U+0130 (I with dot above) to i: the unique index and
// the login's lookup take such a spelling for the account, so the limit must
// too, or each spelling would get its own ten guesses.
TEST_F(Auth, Login_UnicodeSpellingsOfOneEmail_CountOnItsOneKey) {
  auto ctype =
      fixture::execute("SELECT datctype FROM pg_database WHERE datname = current_database()");
  ASSERT_EQ(ctype[0][0].as<std::string>(), "C.UTF-8");
  for (const auto& [plain, folded_initial] :
       {std::pair<std::string, std::string>{"kirk", "\u212A"}, {"isa", "\u0130"}}) {
    std::string email = fresh_email(plain);
    std::string spelled = folded_initial + email.substr(1);
    ASSERT_EQ(register_user(email).status, 201);
    // The premise: the database takes the spelling for the account.
    address_ = fresh_address();
    EXPECT_EQ(login(spelled, kPassword).status, 200) << spelled;
    // Failures of either spelling count on one key.
    for (int i = 0; i < 10; ++i) {
      address_ = fresh_address();
      expect_fail(login(i % 2 ? spelled : email, "guess"), 401, "Invalid credentials.");
    }
    EXPECT_EQ(attempts_of("email:" + email), 10) << spelled;
    address_ = fresh_address();
    expect_fail(login(spelled, kPassword), 429, "Too many failed logins. Please try again later.");
    address_ = fresh_address();
    expect_fail(login(email, kPassword), 429, "Too many failed logins. Please try again later.");
  }
}

// Counted before the hash: of 64 guesses at once (each from its own address),
// exactly LOGIN_MAX_FAILURES get to the hash (401); the rest are refused
// (429) before it, however the hashes and the requests interleave.
TEST_F(Auth, Login_64ParallelWrongLoginsForOneEmail_AtMostMaxFailuresReachTheHash) {
  std::string email = fresh_email("burst");
  ASSERT_EQ(register_user(email).status, 201);
  std::vector<std::string> addresses;
  for (int i = 0; i < 64; ++i) addresses.push_back(fresh_address());
  std::vector<int> statuses(64);
  std::vector<std::thread> threads;
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = support::http_request(
                        port(), "POST", "/auth/login",
                        json{{"email", email}, {"password", "guess " + std::to_string(i)}}.dump(),
                        {{"X-Real-IP", addresses[i]}, {"Content-Type", "application/json"}})
                        .status;
    });
  }
  for (auto& thread : threads) thread.join();
  int hashed = static_cast<int>(std::count(statuses.begin(), statuses.end(), 401));
  int refused = static_cast<int>(std::count(statuses.begin(), statuses.end(), 429));
  EXPECT_EQ(hashed, 10);
  EXPECT_EQ(hashed + refused, 64) << "other statuses than 401 and 429";
  EXPECT_EQ(attempts_of("email:" + email), 10);  // a refused attempt is not counted
}

// Per email a throttle, not a lock: after the 10th failure 429 for a minute;
// each failure let through after that doubles the wait, up to 15 minutes;
// the right password after the wait gets in and starts the count over.
TEST_F(Auth, Login_EmailThrottle_RetryAfterDoublesUpTo15Minutes) {
  std::string email = fresh_email("doubling");
  std::string key = "email:" + email;
  ASSERT_EQ(register_user(email).status, 201);
  for (int i = 0; i < 10; ++i) {
    address_ = fresh_address();
    expect_fail(login(email, "guess"), 401, "Invalid credentials.");
  }
  address_ = fresh_address();
  int wait = retry_after_of(login(email, kPassword));  // even the right password waits
  EXPECT_GE(wait, 59);
  EXPECT_LE(wait, 60);
  for (int expected : {120, 240, 480, 900, 900}) {
    age_counter(key, wait);
    address_ = fresh_address();
    expect_fail(login(email, "guess"), 401, "Invalid credentials.");  // reached the hash
    wait = retry_after_of(login(email, "guess"));
    EXPECT_GE(wait, expected - 1) << "after waiting, the next failure doubles the wait";
    EXPECT_LE(wait, expected);
  }
  EXPECT_EQ(attempts_of(key), 15);
  age_counter(key, wait);
  address_ = fresh_address();
  expect_token_body(login(email, kPassword), 200, "Successfully logged in.");
  EXPECT_EQ(attempts_of(key), -1);  // forgotten
  expect_fail(login(email, "guess"), 401, "Invalid credentials.");
  EXPECT_EQ(attempts_of(key), 1);
}

TEST_F(Auth, Login_EmailLeftAloneAfterItsWait_StartsOver) {
  std::string email = fresh_email("rested");
  std::string key = "email:" + email;
  for (int i = 0; i < 10; ++i) {
    address_ = fresh_address();
    EXPECT_EQ(login(email, "guess").status, 401);
  }
  int wait = retry_after_of(login(email, "guess"));
  age_counter(key, wait + 15 * 60);  // 15 minutes past the wait
  expect_fail(login(email, "guess"), 401, "Invalid credentials.");
  EXPECT_EQ(attempts_of(key), 1);
}

TEST_F(Auth, Login_SuccessGivesTheAttemptBack) {
  std::string email = fresh_email("sometimes");
  ASSERT_EQ(register_user(email).status, 201);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(login(email, "guess").status, 401);
  EXPECT_EQ(login(email, kPassword).status, 200);
  EXPECT_EQ(attempts_of("email:" + email), -1);
  EXPECT_EQ(attempts_of("address:" + address_), 9);
  EXPECT_EQ(login(email, "guess").status, 401);  // the address's 10th
  EXPECT_EQ(login(email, kPassword).status, 429);
}

// The limit holds across replicas (and restarts): the counters are in the database.
TEST_F(Auth, Login_FailuresOnOneReplica_CountOnAnother) {
  auto other = start_app({});
  std::string email = fresh_email("replicas");
  ASSERT_EQ(register_user(email).status, 201);
  for (int i = 0; i < 10; ++i) {
    address_ = fresh_address();
    EXPECT_EQ(login(email, "guess", i % 2 ? port() : other->port()).status, 401);
  }
  address_ = fresh_address();
  expect_fail(login(email, kPassword, other->port()), 429,
              "Too many failed logins. Please try again later.");
  other.reset();
  auto restarted = start_app({});
  EXPECT_EQ(login(email, kPassword, restarted->port()).status, 429);
}

// One IPv6 host can use a whole /64: that is what counts as one client.
TEST_F(Auth, Login_Ipv6Clients_AreCountedByTheirSlash64) {
  auto app = start_app({{"LOGIN_MAX_FAILURES", "2"}});
  address_ = "2001:db8:77:1::1";
  EXPECT_EQ(login(fresh_email("v6"), "guess", app->port()).status, 401);
  address_ = "2001:db8:77:1:ffff:ffff:ffff:fffe";
  EXPECT_EQ(login(fresh_email("v6"), "guess", app->port()).status, 401);
  address_ = "2001:db8:77:1:abcd::9";
  auto limited = login(fresh_email("v6"), "guess", app->port());
  EXPECT_GE(retry_after_of(limited), 1);
  address_ = "2001:db8:77:2::1";  // the next /64
  EXPECT_EQ(login(fresh_email("v6"), "guess", app->port()).status, 401);
}

// Rows past their time are deleted by later logins, a bounded number at a time.
TEST_F(Auth, Login_ForgottenCountersArePruned) {
  fixture::execute(
      "INSERT INTO login_attempts (key, attempts, window_start, expires_at) "
      "SELECT 'email:stale' || g || '@example.com', 3, now() - interval '1 hour', "
      "now() - interval '1 hour' + g * interval '1 second' FROM generate_series(1, 150) g");
  for (int i = 0; i < 20; ++i) {  // 40 counts: at least two prunes of 100 rows
    address_ = fresh_address();
    EXPECT_EQ(login(fresh_email("pruner"), "guess").status, 401);
  }
  auto left = fixture::execute("SELECT count(*) FROM login_attempts WHERE key LIKE 'email:stale%'");
  EXPECT_EQ(left[0][0].as<long long>(), 0);
  auto expired = fixture::execute("SELECT count(*) FROM login_attempts WHERE expires_at <= now()");
  EXPECT_EQ(expired[0][0].as<long long>(), 0);
}

// --- how many hashes at once -------------------------------------------------------------

// One hash at a time, a short queue: of a burst of registrations, those that
// cannot start their hash in time get 503 with Retry-After, quickly; no slot
// is lost, so the service answers normally right after.
TEST_F(Auth, PasswordHashConcurrency1_BurstQueuesThen503WithRetryAfter) {
  auto app = start_app({{"PASSWORD_HASH_COST", "interactive"},
                        {"PASSWORD_HASH_CONCURRENCY", "1"},
                        {"PASSWORD_HASH_QUEUE_TIMEOUT_MS", "150"}});
  constexpr int kBurst = 8;
  std::vector<support::HttpResponse> responses(kBurst);
  std::vector<double> seconds(kBurst);
  std::vector<std::thread> threads;
  for (int i = 0; i < kBurst; ++i) {
    threads.emplace_back([&, i] {
      auto start = std::chrono::steady_clock::now();
      responses[i] = register_user(fresh_email("queued"), kPassword, app->port());
      seconds[i] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    });
  }
  for (auto& thread : threads) thread.join();
  int created = 0;
  int busy = 0;
  for (int i = 0; i < kBurst; ++i) {
    const auto& response = responses[i];
    if (response.status == 201) {
      ++created;
    } else {
      ++busy;
      expect_fail(response, 503, "Too many password checks at once. Please try again shortly.");
      EXPECT_EQ(response.header("Retry-After"), "1");
      EXPECT_LT(seconds[i], 2.0) << "a refused request waits the queue timeout, not the hashes";
    }
  }
  EXPECT_GE(created, 1);
  EXPECT_GE(busy, 1) << "eight 64 MiB hashes one at a time cannot all start within 150 ms";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(register_user(fresh_email("after"), kPassword, app->port()).status, 201);
  }
}

// --- token failures ---------------------------------------------------------------------

TEST_F(Auth, Status_WithoutABearerToken_Returns403) {
  expect_fail(send(port(), "GET", "/auth/status"), 403, "Provide a valid auth token.");
  expect_fail(send(port(), "GET", "/auth/status", "", {{"Authorization", "Bearer"}}), 403,
              "Provide a valid auth token.");
  expect_fail(send(port(), "GET", "/auth/status", "", {{"Authorization", "Basic dTpw"}}), 403,
              "Provide a valid auth token.");
  expect_fail(send(port(), "GET", "/auth/logout"), 403, "Provide a valid auth token.");
}

TEST_F(Auth, Status_BadTokens_Return401Invalid) {
  std::string token = token_for(fresh_email("bad"));
  std::string tampered = token;
  tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'A' ? 'B' : 'A';
  std::string other_key = users::TokenCodec("a-different-key-of-32-bytes-or-more!", 3600)
                              .issue(1, 0, 1, std::time(nullptr))
                              .token;
  std::string payload = token.substr(token.find('.'), token.rfind('.') - token.find('.'));
  std::string alg_none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0" + payload + ".";
  for (const std::string& bad : {std::string("garbage"), tampered, other_key, alg_none}) {
    expect_fail(with_token("/auth/status", bad), 401, "Invalid token. Please log in again.");
    expect_fail(with_token("/auth/logout", bad), 401, "Invalid token. Please log in again.");
  }
}

TEST_F(Auth, Status_ExpiredToken_Returns401SignatureExpired) {
  std::string email = fresh_email("old");
  ASSERT_EQ(register_user(email).status, 201);
  long long id = fixture::execute("SELECT id FROM users")[0][0].as<long long>();
  // Signed with the app's key ("secret" in testing), two hours ago.
  auto expired = users::TokenCodec("secret", 3600).issue(id, 0, 1, std::time(nullptr) - 7200).token;
  expect_fail(with_token("/auth/status", expired), 401, "Signature expired. Please log in again.");
}

TEST_F(Auth, Status_TokenOfADeletedUser_Returns401) {
  std::string token = token_for(fresh_email("gone"));
  fixture::execute("DELETE FROM users");
  expect_fail(with_token("/auth/status", token), 401, "Invalid token. Please log in again.");
}

TEST_F(Auth, Token_ShortLifetime_ExpiresOnTime) {
  auto app = start_app({{"TOKEN_EXPIRATION_SECONDS", "1"}});
  std::string token = token_for(fresh_email("brief"), app->port());
  EXPECT_EQ(with_token("/auth/status", token, app->port()).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // the clock is the subject
  expect_fail(with_token("/auth/status", token, app->port()), 401,
              "Signature expired. Please log in again.");
}

// --- logout ends the session, in the database
// ----------------------------------------------------------

TEST_F(Auth, Logout_OnOneInstance_IsSeenByAnother) {
  auto other = start_app({});
  std::string token = token_for(fresh_email("replica"));
  EXPECT_EQ(with_token("/auth/status", token, other->port()).status, 200);
  EXPECT_EQ(with_token("/auth/logout", token).status, 200);
  expect_fail(with_token("/auth/status", token, other->port()), 401,
              "Token revoked. Please log in again.");
}

// --- REQUIRE_ADMIN_FOR_WRITES -------------------------------------------------------------

TEST_F(Auth, RequireAdminForWrites_PostUsersNeedsAnAdminToken) {
  auto app = start_app({{"REQUIRE_ADMIN_FOR_WRITES", "true"}});
  std::string body = R"({"username":"new","email":"new@example.com"})";
  expect_fail(send(app->port(), "POST", "/users", body), 403, "Provide a valid auth token.");
  std::string user_token = token_for(fresh_email("plain"), app->port());
  expect_fail(
      send(app->port(), "POST", "/users", body, {{"Authorization", "Bearer " + user_token}}), 401,
      "You do not have permission to do that.");
  std::string admin_email = fresh_email("admin");
  std::string admin_token = token_for(admin_email, app->port());
  fixture::execute("UPDATE users SET admin = true WHERE email = '" + admin_email + "'");
  auto created =
      send(app->port(), "POST", "/users", body, {{"Authorization", "Bearer " + admin_token}});
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(with_token("/auth/status", admin_token, app->port()).json()["data"]["admin"], true);
  // Reads stay open.
  EXPECT_EQ(send(app->port(), "GET", "/users").status, 200);
  EXPECT_EQ(send(app->port(), "GET", "/").status, 200);
}

TEST_F(Auth, RequireAdminForWrites_ThePageFormNeedsAnAdminToken) {
  auto app = start_app({{"REQUIRE_ADMIN_FOR_WRITES", "true"}});
  std::string form = "username=new&email=new%40example.com";
  support::Headers headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  auto refused = support::http_request(app->port(), "POST", "/", form, headers);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(refused.body.find("Provide a valid auth token."), std::string::npos);
  std::string user_token = token_for(fresh_email("plain"), app->port());
  headers.emplace_back("Authorization", "Bearer " + user_token);
  auto not_admin = support::http_request(app->port(), "POST", "/", form, headers);
  EXPECT_EQ(not_admin.status, 401);
  EXPECT_NE(not_admin.body.find("You do not have permission to do that."), std::string::npos);
  fixture::execute("UPDATE users SET admin = true");
  EXPECT_EQ(support::http_request(app->port(), "POST", "/", form, headers).status, 303);
}

TEST_F(Auth, RequireAdminForWritesOff_WritesStayOpen) {
  EXPECT_EQ(add_user("open", "open@example.com").status, 201);
  EXPECT_EQ(post_form("username=form&email=form%40example.com").status, 303);
}

// --- REQUIRE_AUTH_FOR_READS ---------------------------------------------------------------

TEST_F(Auth, RequireAuthForReads_UsersApiNeedsAValidToken) {
  auto app = start_app({{"REQUIRE_AUTH_FOR_READS", "true"}});
  std::string email = fresh_email("reader");
  std::string token = token_for(email, app->port());
  long long id = with_token("/auth/status", token, app->port()).json()["data"]["id"];
  std::string one = "/users/" + std::to_string(id);
  for (const std::string& path : {std::string("/users"), std::string("/users?limit=5"), one}) {
    SCOPED_TRACE(path);
    expect_fail(send(app->port(), "GET", path), 403, "Provide a valid auth token.");
    expect_fail(with_token(path, token + "x", app->port()), 401,
                "Invalid token. Please log in again.");
    auto allowed = with_token(path, token, app->port());
    EXPECT_EQ(allowed.status, 200) << allowed.body;
    EXPECT_NE(allowed.body.find(email), std::string::npos);
  }
  // The page answers without a token, with usernames only.
  auto page = send(app->port(), "GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("michael"), std::string::npos);
  EXPECT_EQ(page.body.find(email), std::string::npos);
  EXPECT_EQ(page.body.find("@example.com"), std::string::npos);
}

TEST_F(Auth, RequireAuthForReadsOff_ReadsStayOpen) {
  ASSERT_EQ(add_user("open", "open@example.com").status, 201);
  EXPECT_EQ(get("/users").status, 200);
  EXPECT_EQ(get("/users/1").status, 200);
}

// --- logs ---------------------------------------------------------------------------------

// Every log line the app writes during a whole flow, at trace level, carries
// no password, token or Authorization header.
TEST_F(Auth, NoCredentialEverReachesALogLine) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  std::vector<std::shared_ptr<spdlog::logger>> loggers = {spdlog::default_logger()};
  if (auto access = spdlog::get("users.access")) loggers.push_back(access);
  std::vector<spdlog::level::level_enum> levels;
  for (auto& logger : loggers) {
    levels.push_back(logger->level());
    logger->sinks().push_back(sink);
    logger->set_level(spdlog::level::trace);
  }
  std::string email = fresh_email("quiet");
  std::string token = register_user(email).json().value("auth_token", "");
  auto logged_in = login(email, kPassword).json();
  std::string second = logged_in.value("auth_token", "");
  std::string refresh = logged_in.value("refresh_token", "");
  auto refreshed = send(port(), "POST", "/auth/refresh", json{{"refresh_token", refresh}}.dump());
  std::string rotated = refreshed.json().value("refresh_token", "");
  std::string third = refreshed.json().value("auth_token", "");
  send(port(), "POST", "/auth/refresh", json{{"refresh_token", refresh}}.dump());
  login(email, "wrong password");
  with_token("/auth/status", token);
  with_token("/auth/logout", token);
  with_token("/auth/status", token);
  with_token("/auth/status", "garbage.token.value");
  for (std::size_t i = 0; i < loggers.size(); ++i) {
    loggers[i]->flush();
    loggers[i]->sinks().pop_back();
    loggers[i]->set_level(levels[i]);
  }
  std::string log = captured.str();
  EXPECT_NE(log.find("/auth/login"), std::string::npos) << "nothing was captured";
  for (const std::string& secret :
       {kPassword, std::string("wrong password"), token, second, refresh, rotated, third,
        std::string("garbage.token"), std::string("Bearer"), std::string("argon2")}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in:\n" << log;
  }
}

}  // namespace

namespace {

// One name per path, through the real app on a real database: the spellings
// nginx's exact rules would not limit reach nothing -- no account is made, no
// token handed out, no login attempt counted, no user read.
TEST_F(Auth, NonCanonicalAuthPaths_404AndNothingHappens) {
  auto email = fresh_email("slash");
  auto body = json{{"username", "michael"}, {"email", email}, {"password", kPassword}}.dump();
  for (const char* path : {"/auth/register/", "//auth/register", "/auth//register"}) {
    SCOPED_TRACE(path);
    expect_fail(send(port(), "POST", path, body), 404, "Resource not found.");
  }
  EXPECT_EQ(user_count(), 0);
  auto token = token_for(email);
  auto attempts = fixture::execute("SELECT count(*) FROM login_attempts")[0][0].as<long long>();
  auto login_body = json{{"email", email}, {"password", kPassword}}.dump();
  for (const char* path : {"/auth/login/", "//auth/login", "/auth/./login"}) {
    SCOPED_TRACE(path);
    expect_fail(send(port(), "POST", path, login_body), 404, "Resource not found.");
  }
  EXPECT_EQ(fixture::execute("SELECT count(*) FROM login_attempts")[0][0].as<long long>(),
            attempts);
  EXPECT_EQ(login(email, kPassword).status, 200);
  auto id = fixture::execute("SELECT id FROM users")[0][0].as<long long>();
  expect_fail(with_token("/users/" + std::to_string(id) + "/", token), 404, "Resource not found.");
  EXPECT_EQ(with_token("/users/" + std::to_string(id), token).status, 200);
  expect_fail(with_token("/metrics/", token), 404, "Resource not found.");
}

}  // namespace
