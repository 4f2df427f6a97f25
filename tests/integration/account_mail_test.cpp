// The ways back into an account, end to end: the real users-service, a real
// PostgreSQL and a real SMTP server (aiosmtpd's Maildir). Each test reads
// the mails it caused from the sink (by recipient: every test mails its own
// addresses) and follows their links as a person would.
#include <fcntl.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "binaries_fixture.hpp"
#include "support/free_port.hpp"
#include "support/http_client.hpp"
#include "support/smtp_sink.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const char* const kForgotAnswer = "If that address has an account, a reset link is on its way.";
const char* const kInvalidToken = "Invalid or expired token.";

long long scalar(const std::string& sql) {
  auto result = binaries::execute(sql);
  return result[0][0].is_null() ? -1 : result[0][0].as<long long>();
}

// A users-service with `extra` settings on a free port, ready (or a failure).
class Service {
 public:
  // `output_fd`: where its stdout and stderr go (-1: the test's).
  explicit Service(const std::vector<std::string>& extra, int output_fd = -1)
      : port_(support::free_port()) {
    // `extra` first: of two entries for one variable, getenv() finds the first.
    std::vector<std::string> env = extra;
    for (const char* entry : {"APP_ENV=testing", "HOST=127.0.0.1", "THREADS=1", "LOG_LEVEL=warn",
                              "LOGIN_MAX_FAILURES=5"}) {
      env.emplace_back(entry);
    }
    env.push_back("DATABASE_TEST_URL=" + binaries::database_url());
    env.push_back("PORT=" + std::to_string(port_));
    child_ = std::make_unique<binaries::Child>(USERS_SERVICE_PATH, env, std::vector<std::string>{},
                                               output_fd);
    auto deadline = Clock::now() + 15s;
    while (Clock::now() < deadline) {
      try {
        if (support::http_request(port_, "GET", "/health/ready").status == 200) return;
      } catch (const std::exception&) {
        if (child_->wait_exit(10ms)) break;
      }
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "users-service was not ready within 15 s (or exited)";
  }

  int port() const { return port_; }
  // SIGTERM and wait: the log is flushed.
  void stop() {
    child_->signal(SIGTERM);
    EXPECT_TRUE(child_->wait_exit(10s).has_value());
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  support::HttpResponse post(const std::string& path, const nlohmann::json& body,
                             const support::Headers& headers = {}) const {
    support::Headers all = {{"Content-Type", "application/json"}};
    all.insert(all.end(), headers.begin(), headers.end());
    return support::http_request(port_, "POST", path, body.dump(), all);
  }

  // Registers and returns the auth token.
  std::string register_user(const std::string& email, const std::string& password) const {
    auto username = email.substr(0, email.find('@'));
    auto response =
        post("/auth/register", {{"username", username}, {"email", email}, {"password", password}});
    EXPECT_EQ(response.status, 201) << response.body;
    return response.status == 201 ? response.json()["auth_token"].get<std::string>() : "";
  }

  support::HttpResponse login(const std::string& email, const std::string& password) const {
    return post("/auth/login", {{"email", email}, {"password", password}});
  }

  // A counter of /metrics (-1 when absent).
  long long metric(const std::string& name) const {
    auto body = support::http_request(port_, "GET", "/metrics").body;
    std::smatch match;
    if (!std::regex_search(body, match, std::regex("\n" + name + " ([0-9]+)\n"))) return -1;
    return std::stoll(match[1]);
  }

  support::HttpResponse status(const std::string& token) const {
    return support::http_request(port_, "GET", "/auth/status", "",
                                 {{"Authorization", "Bearer " + token}});
  }

 private:
  int port_;
  std::unique_ptr<binaries::Child> child_;
};

class AccountMail : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto recreated = binaries::recreate_db();
    ASSERT_EQ(recreated.exit_code, 0) << recreated.output;
    sink_ = new support::SmtpSink();
  }
  static void TearDownTestSuite() {
    delete sink_;
    sink_ = nullptr;
  }

  void SetUp() override {
    binaries::execute("TRUNCATE users RESTART IDENTITY CASCADE");
    binaries::execute("TRUNCATE mail_outbox, login_attempts, mail_requests");
  }

  // Mail on, through the suite's sink; the links lead to http://users.example.test.
  static std::unique_ptr<Service> mail_service(const std::vector<std::string>& extra = {},
                                               int output_fd = -1) {
    std::vector<std::string> env{"SMTP_URL=" + sink_->url(), "MAIL_FROM=users@example.com",
                                 "PUBLIC_BASE_URL=http://users.example.test/"};
    env.insert(env.end(), extra.begin(), extra.end());
    return std::make_unique<Service>(env, output_fd);
  }

  // The mails to `recipient` with `subject` received so far.
  static std::vector<std::string> mails(const std::string& recipient, const std::string& subject) {
    std::vector<std::string> out;
    for (const auto& message : sink_->messages()) {
      if (support::mail_header(message, "X-RcptTo") == recipient &&
          support::mail_header(message, "Subject") == subject) {
        out.push_back(message);
      }
    }
    return out;
  }

  // Waits up to 15 s for `count` such mails.
  static std::vector<std::string> wait_for_mails(const std::string& recipient,
                                                 const std::string& subject, std::size_t count) {
    auto deadline = Clock::now() + 15s;
    auto got = mails(recipient, subject);
    while (got.size() < count && Clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      got = mails(recipient, subject);
    }
    return got;
  }

  // Waits until the outbox has nothing pending (every queued mail went out).
  static void wait_outbox_drained() {
    auto deadline = Clock::now() + 15s;
    while (Clock::now() < deadline &&
           scalar("SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL") > 0) {
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(scalar("SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL"), 0);
  }

  // The token a mail carries: the one after `page`?token= in its link.
  static std::string token_in(const std::string& message, const std::string& page) {
    std::smatch match;
    if (!std::regex_search(message, match, std::regex(page + "\\?token=([A-Za-z0-9_-]+)"))) {
      return "";
    }
    return match[1];
  }

  static support::SmtpSink* sink_;
};

support::SmtpSink* AccountMail::sink_ = nullptr;

const char* const kResetSubject = "Reset your password";
const char* const kVerifySubject = "Verify your email address";

TEST_F(AccountMail, Forgot_ResetMailHasBothPartsAndItsTokenResetsThePassword) {
  auto service = mail_service();
  service->register_user("ada@example.com", "the old password");
  auto forgot = service->post("/auth/password/forgot", {{"email", "ada@example.com"}});
  ASSERT_EQ(forgot.status, 202) << forgot.body;
  EXPECT_EQ(forgot.json(), nlohmann::json({{"status", "success"}, {"message", kForgotAnswer}}));

  auto got = wait_for_mails("ada@example.com", kResetSubject, 1);
  ASSERT_EQ(got.size(), 1u) << "no reset mail within 15 s";
  const auto& message = got[0];
  // Shaped as every outbox row: a Message-ID of its own at MAIL_FROM's domain.
  EXPECT_TRUE(std::regex_match(support::mail_header(message, "Message-ID"),
                               std::regex("<[0-9a-f-]{36}@example\\.com>")))
      << support::mail_header(message, "Message-ID");
  auto text_at = message.find("Content-Type: text/plain; charset=utf-8");
  auto html_at = message.find("Content-Type: text/html; charset=utf-8");
  ASSERT_NE(text_at, std::string::npos);
  ASSERT_NE(html_at, std::string::npos);
  std::string text = message.substr(text_at, html_at - text_at);
  std::string html = message.substr(html_at);
  std::string token = token_in(text, "http://users\\.example\\.test/reset-password");
  ASSERT_EQ(token.size(), 43u) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex("\n" + token + "\r?\n")))
      << "the token on a line of its own in the text part:\n"
      << text;
  EXPECT_NE(html.find("<a href=\"http://users.example.test/reset-password?token=" + token + "\">"),
            std::string::npos)
      << html;
  // Only the token's SHA-256 is stored.
  EXPECT_EQ(scalar("SELECT count(*) FROM account_tokens WHERE token_hash = encode(sha256('" +
                   token + "'), 'hex') AND purpose = 'reset'"),
            1);
  EXPECT_EQ(scalar("SELECT count(*) FROM account_tokens WHERE token_hash LIKE '%" + token + "%'"),
            0);

  auto reset = service->post("/auth/password/reset",
                             {{"token", token}, {"new_password", "the new password"}});
  ASSERT_EQ(reset.status, 200) << reset.body;
  EXPECT_EQ(reset.header("Cache-Control"), "no-store");
  auto fresh = reset.json()["auth_token"].get<std::string>();
  EXPECT_EQ(service->status(fresh).status, 200);
  EXPECT_EQ(service->login("ada@example.com", "the new password").status, 200);
  EXPECT_EQ(service->login("ada@example.com", "the old password").status, 401);
}

TEST_F(AccountMail, ResetToken_WorksOnce) {
  auto service = mail_service();
  service->register_user("once@example.com", "the old password");
  ASSERT_EQ(service->post("/auth/password/forgot", {{"email", "once@example.com"}}).status, 202);
  auto got = wait_for_mails("once@example.com", kResetSubject, 1);
  ASSERT_EQ(got.size(), 1u);
  auto token = token_in(got[0], "/reset-password");
  auto first = service->post("/auth/password/reset",
                             {{"token", token}, {"new_password", "the new password"}});
  ASSERT_EQ(first.status, 200) << first.body;
  auto second = service->post("/auth/password/reset",
                              {{"token", token}, {"new_password", "another new password"}});
  EXPECT_EQ(second.status, 400);
  EXPECT_EQ(second.json()["message"], kInvalidToken);
  EXPECT_EQ(service->login("once@example.com", "the new password").status, 200);
}

TEST_F(AccountMail, Reset_EndsEveryOtherTokenAndOtherResetLinks_AndVerifiesTheEmail) {
  auto service = mail_service();
  auto registered = service->register_user("eve@example.com", "the old password");
  auto login = service->login("eve@example.com", "the old password").json();
  auto logged_in = login["auth_token"];
  ASSERT_EQ(service->status(registered).status, 200);
  EXPECT_EQ(service->status(registered).json()["data"]["email_verified"], false);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(service->post("/auth/password/forgot", {{"email", "eve@example.com"}}).status, 202);
  }
  auto got = wait_for_mails("eve@example.com", kResetSubject, 2);
  ASSERT_EQ(got.size(), 2u);
  auto reset = service->post(
      "/auth/password/reset",
      {{"token", token_in(got[0], "/reset-password")}, {"new_password", "the new password"}});
  ASSERT_EQ(reset.status, 200) << reset.body;
  EXPECT_EQ(service->status(registered).status, 401);
  EXPECT_EQ(service->status(logged_in.get<std::string>()).status, 401);
  auto fresh = reset.json()["auth_token"].get<std::string>();
  EXPECT_EQ(service->status(fresh).json()["data"]["email_verified"], true);
  // A reset opens a new session and ends every other: their refresh tokens too.
  EXPECT_EQ(scalar("SELECT count(*) FROM sessions WHERE ended_at IS NULL"), 1);
  EXPECT_EQ(service->post("/auth/refresh", {{"refresh_token", login["refresh_token"]}}).status,
            401);
  EXPECT_EQ(
      service->post("/auth/refresh", {{"refresh_token", reset.json()["refresh_token"]}}).status,
      200);
  // The user's other reset link ends with the reset.
  auto other = service->post(
      "/auth/password/reset",
      {{"token", token_in(got[1], "/reset-password")}, {"new_password", "a third password"}});
  EXPECT_EQ(other.status, 400) << other.body;
}

TEST_F(AccountMail, Forgot_UnknownAndInactiveEmails_SameAnswerAndNoMail) {
  auto service = mail_service();
  service->register_user("known@example.com", "a good password");
  service->register_user("gone@example.com", "a good password");
  binaries::execute("UPDATE users SET active = false WHERE email = 'gone@example.com'");
  std::vector<support::HttpResponse> answers;
  // Neither costs a password hash: the answer takes the same work for all.
  auto hashes = service->metric("password_hash_computations_total");
  for (const char* email : {"known@example.com", "nobody@example.com", "gone@example.com"}) {
    answers.push_back(service->post("/auth/password/forgot", {{"email", email}}));
  }
  EXPECT_EQ(service->metric("password_hash_computations_total"), hashes);
  for (const auto& answer : answers) {
    EXPECT_EQ(answer.status, 202);
    EXPECT_EQ(answer.body, answers[0].body);
  }
  ASSERT_EQ(wait_for_mails("known@example.com", kResetSubject, 1).size(), 1u);
  wait_outbox_drained();
  EXPECT_EQ(mails("nobody@example.com", kResetSubject).size(), 0u);
  EXPECT_EQ(mails("gone@example.com", kResetSubject).size(), 0u);
  EXPECT_EQ(scalar("SELECT count(*) FROM mail_outbox WHERE template = 'reset_password'"), 1);
}

TEST_F(AccountMail, Forgot_AtMostThreeMailsPerAddressAnHour_ThenSameAnswerNoMail) {
  auto service = mail_service();
  service->register_user("many@example.com", "a good password");
  // Any spelling of the address counts on it.
  for (const char* email :
       {"many@example.com", "MANY@example.com", "many@example.com", "Many@Example.com"}) {
    auto answer = service->post("/auth/password/forgot", {{"email", email}});
    EXPECT_EQ(answer.status, 202);
    EXPECT_EQ(answer.json()["message"], kForgotAnswer);
  }
  ASSERT_EQ(wait_for_mails("many@example.com", kResetSubject, 3).size(), 3u);
  wait_outbox_drained();
  EXPECT_EQ(mails("many@example.com", kResetSubject).size(), 3u);
  EXPECT_EQ(scalar("SELECT count(*) FROM account_tokens WHERE purpose = 'reset'"), 3);
  // An hour later the address may have mail again.
  binaries::execute("UPDATE account_tokens SET created_at = created_at - interval '61 minutes'");
  binaries::execute("TRUNCATE login_attempts");
  EXPECT_EQ(service->post("/auth/password/forgot", {{"email", "many@example.com"}}).status, 202);
  EXPECT_EQ(wait_for_mails("many@example.com", kResetSubject, 4).size(), 4u);
}

// Requests racing on several connections still count each other's mails:
// the address's mail_requests row is locked before the count.
TEST_F(AccountMail, Forgot_ConcurrentRequests_StillAtMostThreeMails) {
  auto service = mail_service({"DB_POOL_SIZE=4", "LOGIN_MAX_FAILURES=100"});
  service->register_user("race@example.com", "a good password");
  std::vector<std::thread> clients;
  std::atomic<int> accepted{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      if (service->post("/auth/password/forgot", {{"email", "race@example.com"}}).status == 202) {
        ++accepted;
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(accepted.load(), 8);
  EXPECT_EQ(scalar("SELECT count(*) FROM account_tokens WHERE purpose = 'reset'"), 3);
  EXPECT_EQ(scalar("SELECT count(*) FROM mail_outbox WHERE template = 'reset_password'"), 3);
}

// The same durable work for every address: a request for an address without
// an account writes (its mail_requests row) in the transaction that would
// queue the mail, as a known one's does, so both commits wait for a WAL
// flush and take the same time. Checked on the row, not on a clock.
TEST_F(AccountMail, ForgotAndResend_UnknownEmail_WriteTheAddressRowEveryTime) {
  auto service = mail_service({"LOGIN_MAX_FAILURES=100"});
  service->register_user("known@example.com", "a good password");
  auto row_version = [](const std::string& email) {
    auto rows =
        binaries::execute("SELECT xmin::text FROM mail_requests WHERE email = '" + email + "'");
    return rows.empty() ? std::string("none") : rows[0][0].as<std::string>();
  };
  for (const char* path : {"/auth/password/forgot", "/auth/verify/resend"}) {
    std::set<std::string> versions;
    for (int i = 0; i < 2; ++i) {
      // Any spelling: one row per address as the database folds it.
      for (const char* email : {"Nobody@Example.com", "KNOWN@example.com"}) {
        EXPECT_EQ(service->post(path, {{"email", email}}).status, 202);
      }
      // Each request wrote a new version of the row (a new xmin).
      EXPECT_TRUE(versions.insert(row_version("nobody@example.com")).second) << path;
      EXPECT_TRUE(versions.insert(row_version("known@example.com")).second) << path;
    }
    EXPECT_EQ(versions.count("none"), 0u) << path;
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM mail_requests"), 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM account_tokens WHERE email = 'Nobody@Example.com'"), 0);
}

// Rows older than an hour go a batch at a time: the service's first mail
// request prunes (then every 16th), at most 100 rows, never a recent one.
TEST_F(AccountMail, MailRequests_OldRowsPrunedInSmallBatches_RecentOnesKept) {
  binaries::execute(
      "INSERT INTO mail_requests (email, requested_at) SELECT 'old' || i || '@example.com',"
      " now() - interval '61 minutes' FROM generate_series(1, 150) i");
  binaries::execute(
      "INSERT INTO mail_requests (email, requested_at) SELECT 'recent' || i || '@example.com',"
      " now() - interval '59 minutes' FROM generate_series(1, 5) i");
  auto service = mail_service({"LOGIN_MAX_FAILURES=100"});
  EXPECT_EQ(service->post("/auth/password/forgot", {{"email", "a@example.com"}}).status, 202);
  EXPECT_EQ(scalar("SELECT count(*) FROM mail_requests WHERE email LIKE 'old%'"), 50);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(service->post("/auth/password/forgot", {{"email", "a@example.com"}}).status, 202);
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM mail_requests WHERE email LIKE 'old%'"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM mail_requests WHERE email LIKE 'recent%'"), 5);
}

TEST_F(AccountMail, MailRequests_PerClientAddressLimit_429WithRetryAfter_LoginUnaffected) {
  auto service = mail_service();
  service->register_user("limit@example.com", "a good password");
  // LOGIN_MAX_FAILURES=5 a minute: forgot and resend share the address's count.
  for (int i = 0; i < 5; ++i) {
    const char* path = i % 2 ? "/auth/verify/resend" : "/auth/password/forgot";
    auto email = "someone" + std::to_string(i) + "@example.com";
    EXPECT_EQ(service->post(path, {{"email", email}}).status, 202) << i;
  }
  for (const char* path : {"/auth/password/forgot", "/auth/verify/resend"}) {
    auto refused = service->post(path, {{"email", "limit@example.com"}});
    EXPECT_EQ(refused.status, 429) << path;
    EXPECT_EQ(refused.json()["message"], "Too many requests. Please try again later.");
    auto retry_after = refused.header("Retry-After");
    ASSERT_FALSE(retry_after.empty());
    EXPECT_GE(std::stoi(retry_after), 1);
    EXPECT_LE(std::stoi(retry_after), 60);
  }
  EXPECT_EQ(service->login("limit@example.com", "a good password").status, 200);
  wait_outbox_drained();
  EXPECT_EQ(mails("limit@example.com", kResetSubject).size(), 0u);
}

TEST_F(AccountMail, ShortTtl_ExpiredResetAndVerificationTokens_Return400) {
  auto service = mail_service({"PASSWORD_RESET_TTL_SECONDS=1", "EMAIL_VERIFICATION_TTL_SECONDS=1"});
  service->register_user("late@example.com", "the old password");
  ASSERT_EQ(service->post("/auth/password/forgot", {{"email", "late@example.com"}}).status, 202);
  auto reset_mail = wait_for_mails("late@example.com", kResetSubject, 1);
  auto verify_mail = wait_for_mails("late@example.com", kVerifySubject, 1);
  ASSERT_EQ(reset_mail.size(), 1u);
  ASSERT_EQ(verify_mail.size(), 1u);
  EXPECT_NE(reset_mail[0].find("within 1 second"), std::string::npos);
  std::this_thread::sleep_for(1500ms);
  auto reset =
      service->post("/auth/password/reset", {{"token", token_in(reset_mail[0], "/reset-password")},
                                             {"new_password", "the new password"}});
  EXPECT_EQ(reset.status, 400);
  EXPECT_EQ(reset.json()["message"], kInvalidToken);
  auto verify =
      service->post("/auth/verify", {{"token", token_in(verify_mail[0], "/verify-email")}});
  EXPECT_EQ(verify.status, 400);
  EXPECT_EQ(verify.json()["message"], kInvalidToken);
  EXPECT_EQ(service->login("late@example.com", "the old password").status, 200);
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE email_verified"), 0);
}

TEST_F(AccountMail, Register_QueuesVerificationMail_VerifyWorksOnce) {
  auto service = mail_service();
  auto token = service->register_user("new@example.com", "a good password");
  EXPECT_EQ(service->status(token).json()["data"]["email_verified"], false);
  auto got = wait_for_mails("new@example.com", kVerifySubject, 1);
  ASSERT_EQ(got.size(), 1u) << "no verification mail within 15 s";
  EXPECT_NE(got[0].find("http://users.example.test/verify-email?token="), std::string::npos);
  auto mailed = token_in(got[0], "/verify-email");
  ASSERT_EQ(mailed.size(), 43u);
  EXPECT_TRUE(std::regex_search(got[0], std::regex("\n" + mailed + "\r?\n")));
  auto verified = service->post("/auth/verify", {{"token", mailed}});
  ASSERT_EQ(verified.status, 200) << verified.body;
  EXPECT_EQ(verified.json(),
            nlohmann::json({{"status", "success"}, {"message", "Email verified."}}));
  EXPECT_EQ(service->status(token).json()["data"]["email_verified"], true);
  auto again = service->post("/auth/verify", {{"token", mailed}});
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.json()["message"], kInvalidToken);
  // A reset token is no verification token, nor the other way round.
  EXPECT_EQ(scalar("SELECT count(*) FROM account_tokens WHERE purpose = 'verify'"), 1);
}

TEST_F(AccountMail, Resend_OnlyForAnUnverifiedActiveAccount_SameAnswerForAll) {
  auto service = mail_service();
  service->register_user("waiting@example.com", "a good password");
  service->register_user("done@example.com", "a good password");
  binaries::execute("UPDATE users SET email_verified = true WHERE email = 'done@example.com'");
  ASSERT_EQ(wait_for_mails("waiting@example.com", kVerifySubject, 1).size(), 1u);
  ASSERT_EQ(wait_for_mails("done@example.com", kVerifySubject, 1).size(), 1u);
  std::vector<support::HttpResponse> answers;
  for (const char* email : {"waiting@example.com", "done@example.com", "nobody@example.com"}) {
    answers.push_back(service->post("/auth/verify/resend", {{"email", email}}));
  }
  for (const auto& answer : answers) {
    EXPECT_EQ(answer.status, 202);
    EXPECT_EQ(answer.body, answers[0].body);
  }
  ASSERT_EQ(wait_for_mails("waiting@example.com", kVerifySubject, 2).size(), 2u);
  wait_outbox_drained();
  EXPECT_EQ(mails("done@example.com", kVerifySubject).size(), 1u) << "only the registration's";
  EXPECT_EQ(mails("nobody@example.com", kVerifySubject).size(), 0u);
  // The resent link verifies.
  auto resent = token_in(mails("waiting@example.com", kVerifySubject).back(), "/verify-email");
  EXPECT_EQ(service->post("/auth/verify", {{"token", resent}}).status, 200);
}

// `manage create_admin` with `password` on its standard input.
binaries::Result create_admin(const std::string& email, const std::string& password) {
  return binaries::run("printf '%s\\n' '" + password +
                       "' | env -i APP_ENV=testing DATABASE_TEST_URL='" + binaries::database_url() +
                       "' " MANAGE_PATH " create_admin --username " +
                       email.substr(0, email.find('@')) + " --email " + email);
}

TEST_F(AccountMail, AdminChangesEmail_UnverifiedAndMailedAtTheNewAddress_AdminSeesTheFlag) {
  auto service = mail_service();
  ASSERT_EQ(create_admin("boss@example.com", "the boss password").exit_code, 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE email_verified AND admin"), 1)
      << "create_admin makes a verified admin";
  auto admin = service->login("boss@example.com", "the boss password")
                   .json()["auth_token"]
                   .get<std::string>();
  auto user_token = service->register_user("old@example.com", "a good password");
  auto old_mail = wait_for_mails("old@example.com", kVerifySubject, 1);
  ASSERT_EQ(old_mail.size(), 1u);
  binaries::execute("UPDATE users SET email_verified = true WHERE email = 'old@example.com'");
  long long id = scalar("SELECT id FROM users WHERE email = 'old@example.com'");
  std::string path = "/users/" + std::to_string(id);

  // Reads: an admin sees the flag, the public shape stays the seed's.
  auto as_admin = support::http_request(service->port(), "GET", path, "",
                                        {{"Authorization", "Bearer " + admin}});
  ASSERT_EQ(as_admin.status, 200);
  EXPECT_EQ(as_admin.json()["data"]["email_verified"], true);
  auto as_public = support::http_request(service->port(), "GET", path);
  ASSERT_EQ(as_public.status, 200);
  EXPECT_FALSE(as_public.json()["data"].contains("email_verified")) << as_public.body;
  auto as_user = support::http_request(service->port(), "GET", path, "",
                                       {{"Authorization", "Bearer " + user_token}});
  EXPECT_FALSE(as_user.json()["data"].contains("email_verified")) << as_user.body;
  for (const char* list : {"/users", "/users?limit=10"}) {
    auto admin_list = support::http_request(service->port(), "GET", list, "",
                                            {{"Authorization", "Bearer " + admin}});
    ASSERT_EQ(admin_list.status, 200) << list;
    // A local: a range-for over a part of a temporary would read freed memory.
    const auto admin_json = admin_list.json();
    for (const auto& user : admin_json["data"]["users"]) {
      EXPECT_EQ(user["email_verified"], true) << list << " " << admin_list.body;
    }
    auto public_list = support::http_request(service->port(), "GET", list);
    ASSERT_EQ(public_list.status, 200) << list;
    const auto public_json = public_list.json();
    for (const auto& user : public_json["data"]["users"]) {
      EXPECT_FALSE(user.contains("email_verified")) << list << " " << public_list.body;
    }
  }

  auto patched = support::http_request(
      service->port(), "PATCH", path, R"({"email":"moved@example.com"})",
      {{"Authorization", "Bearer " + admin}, {"Content-Type", "application/merge-patch+json"}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.json()["data"]["email"], "moved@example.com");
  EXPECT_EQ(patched.json()["data"]["email_verified"], false);
  auto got = wait_for_mails("moved@example.com", kVerifySubject, 1);
  ASSERT_EQ(got.size(), 1u) << "no verification mail to the new address";
  // The old address's link proves nothing about the new one.
  EXPECT_EQ(
      service->post("/auth/verify", {{"token", token_in(old_mail[0], "/verify-email")}}).status,
      400);
  EXPECT_EQ(service->post("/auth/verify", {{"token", token_in(got[0], "/verify-email")}}).status,
            200);
  EXPECT_EQ(
      scalar("SELECT count(*) FROM users WHERE email_verified AND email = 'moved@example.com'"), 1);

  // A change of the email's case only is the same mailbox: still verified, no mail.
  auto recased = support::http_request(
      service->port(), "PATCH", path, R"({"email":"Moved@example.com"})",
      {{"Authorization", "Bearer " + admin}, {"Content-Type", "application/merge-patch+json"}});
  ASSERT_EQ(recased.status, 200) << recased.body;
  EXPECT_EQ(recased.json()["data"]["email_verified"], true);
  wait_outbox_drained();
  EXPECT_EQ(scalar("SELECT count(*) FROM mail_outbox WHERE recipient = 'Moved@example.com'"), 0);
}

// The address's hourly count is no reason to leave a new account without its
// verification mail: the address's earlier mails may be another account's.
TEST_F(AccountMail, Register_AddressFreedByAnEmailChange_NewAccountStillGetsItsMail) {
  auto service = mail_service();
  ASSERT_EQ(create_admin("chief@example.com", "the chief password").exit_code, 0);
  auto admin = service->login("chief@example.com", "the chief password")
                   .json()["auth_token"]
                   .get<std::string>();
  service->register_user("reused@example.com", "a good password");
  ASSERT_EQ(wait_for_mails("reused@example.com", kVerifySubject, 1).size(), 1u);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(service->post("/auth/verify/resend", {{"email", "reused@example.com"}}).status, 202);
  }
  ASSERT_EQ(wait_for_mails("reused@example.com", kVerifySubject, 3).size(), 3u);
  long long id = scalar("SELECT id FROM users WHERE email = 'reused@example.com'");
  auto patched = support::http_request(
      service->port(), "PATCH", "/users/" + std::to_string(id),
      R"({"email":"elsewhere@example.com"})",
      {{"Authorization", "Bearer " + admin}, {"Content-Type", "application/merge-patch+json"}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  service->register_user("reused@example.com", "another good password");
  auto got = wait_for_mails("reused@example.com", kVerifySubject, 4);
  ASSERT_EQ(got.size(), 4u) << "the new account got no verification mail";
  // Its link verifies it; the old account's links prove nothing now.
  int verified = 0;
  for (const auto& message : got) {
    auto answer = service->post("/auth/verify", {{"token", token_in(message, "/verify-email")}});
    verified += answer.status == 200 ? 1 : 0;
  }
  EXPECT_EQ(verified, 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE email_verified AND email = "
                   "'reused@example.com'"),
            1);
}

TEST_F(AccountMail, RequireVerifiedEmail_LoginRefusesUnverifiedAfterTheRightPassword) {
  auto service = mail_service({"REQUIRE_VERIFIED_EMAIL=true"});
  service->register_user("strict@example.com", "a good password");
  auto refused = service->login("strict@example.com", "a good password");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.json()["message"], "Please verify your email first.");
  EXPECT_EQ(service->login("strict@example.com", "a wrong password").status, 401)
      << "a wrong password says nothing about verification";
  auto got = wait_for_mails("strict@example.com", kVerifySubject, 1);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(service->post("/auth/verify", {{"token", token_in(got[0], "/verify-email")}}).status,
            200);
  EXPECT_EQ(service->login("strict@example.com", "a good password").status, 200);
}

TEST_F(AccountMail, DefaultSettings_UnverifiedAccountLogsIn) {
  auto service = mail_service();
  service->register_user("relaxed@example.com", "a good password");
  EXPECT_EQ(service->login("relaxed@example.com", "a good password").status, 200);
}

TEST_F(AccountMail, MailOff_RegistrationQueuesNothing_ForgotAndResendAnswer503) {
  Service service({});  // no SMTP_URL
  service.register_user("quiet@example.com", "a good password");
  for (const char* path : {"/auth/password/forgot", "/auth/verify/resend"}) {
    auto answer = service.post(path, {{"email", "quiet@example.com"}});
    EXPECT_EQ(answer.status, 503) << path;
    EXPECT_EQ(answer.json()["message"], "Mail is not configured.");
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM mail_outbox"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM account_tokens"), 0);
}

TEST_F(AccountMail, BadInputs_All400Json) {
  auto service = mail_service();
  const std::string oversize(100000, 'a');
  struct Case {
    const char* path;
    std::string body;
    const char* message;
  };
  std::vector<Case> cases = {
      {"/auth/password/forgot", "{}", "Invalid payload."},
      {"/auth/password/forgot", R"({"email":42})", "Invalid payload."},
      {"/auth/password/forgot", R"({"email":""})", "Invalid payload."},
      {"/auth/password/forgot", "not json", "Invalid payload."},
      {"/auth/password/forgot", "[]", "Invalid payload."},
      {"/auth/verify/resend", R"({"mail":"a@example.com"})", "Invalid payload."},
      {"/auth/verify/resend", R"({"email":null})", "Invalid payload."},
      {"/auth/password/reset", R"({"token":"x"})", "Invalid payload."},
      {"/auth/password/reset", R"({"new_password":"a good password"})", "Invalid payload."},
      {"/auth/password/reset", R"({"token":7,"new_password":"a good password"})",
       "Invalid payload."},
      {"/auth/password/reset", "{", "Invalid payload."},
      {"/auth/password/reset", R"({"token":"x","new_password":"a good password"})", kInvalidToken},
      {"/auth/password/reset",
       R"({"token":")" + oversize + R"(","new_password":"a good password"})", kInvalidToken},
      {"/auth/password/reset",
       R"({"token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","new_password":"a good password"})",
       kInvalidToken},
      {"/auth/verify", "{}", "Invalid payload."},
      {"/auth/verify", R"({"token":["x"]})", "Invalid payload."},
      {"/auth/verify", "null", "Invalid payload."},
      {"/auth/verify", R"({"token":"x"})", kInvalidToken},
      {"/auth/verify", R"({"token":")" + oversize + R"("})", kInvalidToken},
      {"/auth/verify", R"({"token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})", kInvalidToken},
  };
  for (const auto& c : cases) {
    auto answer = support::http_request(service->port(), "POST", c.path, c.body,
                                        {{"Content-Type", "application/json"}});
    EXPECT_EQ(answer.status, 400) << c.path << " " << c.body.substr(0, 80);
    EXPECT_EQ(answer.header("Content-Type"), "application/json") << c.path;
    EXPECT_EQ(answer.json()["status"], "fail");
    EXPECT_EQ(answer.json()["message"], c.message) << c.path << " " << c.body.substr(0, 80);
  }
  // Not JSON by its type.
  for (const char* path :
       {"/auth/password/forgot", "/auth/password/reset", "/auth/verify", "/auth/verify/resend"}) {
    auto answer = support::http_request(service->port(), "POST", path, R"({"email":"a@b.c"})",
                                        {{"Content-Type", "text/plain"}});
    EXPECT_EQ(answer.status, 400) << path;
    EXPECT_EQ(answer.json()["message"], "Invalid payload.") << path;
  }
  // A good token with a password registration would refuse.
  service->register_user("weak@example.com", "a good password");
  ASSERT_EQ(service->post("/auth/password/forgot", {{"email", "weak@example.com"}}).status, 202);
  auto got = wait_for_mails("weak@example.com", kResetSubject, 1);
  ASSERT_EQ(got.size(), 1u);
  auto token = token_in(got[0], "/reset-password");
  auto weak = service->post("/auth/password/reset", {{"token", token}, {"new_password", "short"}});
  EXPECT_EQ(weak.status, 400);
  EXPECT_EQ(weak.json()["message"], "Invalid payload.");
  // ... and the token still works after that refusal.
  EXPECT_EQ(service
                ->post("/auth/password/reset",
                       {{"token", token}, {"new_password", "a good new password"}})
                .status,
            200);
}

// The tokens travel in bodies and mails only: the service's log (debug, with
// its access lines) never shows one.
TEST_F(AccountMail, Tokens_NeverInTheServiceLog) {
  auto log_path = std::filesystem::temp_directory_path() /
                  ("account-mail-log-" + std::to_string(::getpid()) + ".txt");
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  std::vector<std::string> tokens;
  {
    auto service = mail_service({"LOG_LEVEL=trace"}, fd);
    service->register_user("logged@example.com", "a good password");
    ASSERT_EQ(service->post("/auth/password/forgot", {{"email", "logged@example.com"}}).status,
              202);
    auto reset = wait_for_mails("logged@example.com", kResetSubject, 1);
    auto verify = wait_for_mails("logged@example.com", kVerifySubject, 1);
    ASSERT_EQ(reset.size(), 1u);
    ASSERT_EQ(verify.size(), 1u);
    tokens = {token_in(reset[0], "/reset-password"), token_in(verify[0], "/verify-email")};
    EXPECT_EQ(service->post("/auth/verify", {{"token", tokens[1]}}).status, 200);
    EXPECT_EQ(service
                  ->post("/auth/password/reset",
                         {{"token", tokens[0]}, {"new_password", "a good new password"}})
                  .status,
              200);
    EXPECT_EQ(service->post("/auth/verify", {{"token", tokens[1]}}).status, 400);
    service->stop();
  }
  ::close(fd);
  std::ifstream file(log_path);
  std::stringstream log;
  log << file.rdbuf();
  std::filesystem::remove(log_path);
  ASSERT_NE(log.str().find("/auth/password/reset"), std::string::npos)
      << "no access lines to look at:\n"
      << log.str();
  for (const auto& token : tokens) {
    ASSERT_EQ(token.size(), 43u);
    EXPECT_EQ(log.str().find(token), std::string::npos) << "a token in the log";
    EXPECT_EQ(log.str().find(token.substr(0, 16)), std::string::npos)
        << "part of a token in the log";
  }
}

// Migration 0007 on a database of the earlier ones: users who can log in (a
// password) were accepted before the rule and count as verified; users of
// the open POST /users do not; row versions (ETags) stay.
TEST_F(AccountMail, Migration0007_MarksUsersWithAPasswordVerified) {
  binaries::execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
  binaries::execute(
      "CREATE TABLE schema_migrations (version text PRIMARY KEY,"
      " applied_at timestamptz NOT NULL DEFAULT now())");
  std::set<std::string> earlier;  // in order
  for (const auto& entry : std::filesystem::directory_iterator(MIGRATIONS_DIR)) {
    auto name = entry.path().filename().string();
    if (name < "0007") earlier.insert(name);
  }
  for (const auto& name : earlier) {
    std::ifstream file(std::string(MIGRATIONS_DIR) + "/" + name);
    std::stringstream sql;
    sql << file.rdbuf();
    binaries::execute(sql.str());
    binaries::execute("INSERT INTO schema_migrations (version) VALUES ('" + name + "')");
  }
  binaries::execute(
      "INSERT INTO users (username, email, password, active) VALUES"
      " ('seed', 'seed@example.com', NULL, false),"
      " ('member', 'member@example.com', '$argon2id$v=19$m=8,t=1,p=1$x$y', true)");
  auto before = scalar("SELECT sum(row_version) FROM users");
  auto migrated = binaries::run("env -i APP_ENV=testing DATABASE_TEST_URL='" +
                                binaries::database_url() + "' " MANAGE_PATH " migrate");
  ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
  EXPECT_NE(migrated.output.find("0007_account_tokens.sql"), std::string::npos) << migrated.output;
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE email_verified"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM users WHERE email_verified AND email = "
                   "'member@example.com'"),
            1);
  EXPECT_EQ(scalar("SELECT sum(row_version) FROM users"), before);
  // The trigger is on again: a real change still moves the version.
  binaries::execute("UPDATE users SET username = 'seed2' WHERE email = 'seed@example.com'");
  EXPECT_EQ(scalar("SELECT sum(row_version) FROM users"), before + 1);
}

}  // namespace
