// The pages a person opens from a mail (GET/POST /reset-password and
// /verify-email) on the in-process app with mail on: a real PostgreSQL and a
// real SMTP server (aiosmtpd), whose Maildir the tests read to follow the
// link the mail carries, as a person would.
#include <regex>
#include <thread>

#include "service_fixture.hpp"
#include "support/smtp_sink.hpp"

namespace {

using fixture::contains;
using namespace std::chrono_literals;

constexpr const char* kHtml = "text/html; charset=utf-8";
constexpr const char* kBaseUrl = "https://users.example.test";
constexpr const char* kInvalidToken = "Invalid or expired token.";
const support::Headers kJson = {{"Content-Type", "application/json"}};
const support::Headers kForm = {{"Content-Type", "application/x-www-form-urlencoded"}};

support::SmtpSink* sink = nullptr;
common::App* app = nullptr;

class AccountPages : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sink = new support::SmtpSink();
    auto config = fixture::testing_config(fixture::service().database_url,
                                          {{"SMTP_URL", sink->url()},
                                           {"MAIL_FROM", "users@example.test"},
                                           {"PUBLIC_BASE_URL", kBaseUrl}});
    app = users::create_app(config).release();
    app->start();
  }
  static void TearDownTestSuite() {
    delete app;
    app = nullptr;
    delete sink;
    sink = nullptr;
  }
  void SetUp() override {
    fixture::execute("TRUNCATE users, mail_outbox RESTART IDENTITY CASCADE");
  }

  static support::HttpResponse call(const std::string& method, const std::string& path,
                                    const std::string& body = "",
                                    const support::Headers& headers = {}) {
    return support::http_request(app->port(), method, path, body, headers);
  }
  static support::HttpResponse post_form(const std::string& path, const std::string& body) {
    return call("POST", path, body, kForm);
  }

  // Registers `email` (which queues its verification mail); the auth token.
  static std::string register_user(const std::string& email, const std::string& password) {
    auto response = call(
        "POST", "/auth/register",
        nlohmann::json{{"username", "person"}, {"email", email}, {"password", password}}.dump(),
        kJson);
    EXPECT_EQ(response.status, 201) << response.body;
    return response.json().value("auth_token", "");
  }
  static void forgot(const std::string& email) {
    auto response =
        call("POST", "/auth/password/forgot", nlohmann::json{{"email", email}}.dump(), kJson);
    EXPECT_EQ(response.status, 202) << response.body;
  }
  static int login(const std::string& email, const std::string& password) {
    return call("POST", "/auth/login",
                nlohmann::json{{"email", email}, {"password", password}}.dump(), kJson)
        .status;
  }
  static bool email_verified(const std::string& auth_token) {
    auto status = call("GET", "/auth/status", "", {{"Authorization", "Bearer " + auth_token}});
    EXPECT_EQ(status.status, 200) << status.body;
    return status.json()["data"].value("email_verified", false);
  }

  // The path and query of the link to `page` ("reset-password",
  // "verify-email") in the newest mail to `email`, waiting for it to arrive;
  // the link must point at PUBLIC_BASE_URL.
  static std::string mailed_link(const std::string& email, const std::string& page,
                                 std::size_t nth = 1) {
    const std::regex link(std::string(kBaseUrl) + "(/" + page + "\\?token=[A-Za-z0-9_-]+)");
    auto deadline = std::chrono::steady_clock::now() + 20s;
    do {
      std::vector<std::string> links;
      for (const auto& message : sink->messages()) {
        std::smatch match;
        if (support::mail_header(message, "To") == email &&
            std::regex_search(message, match, link)) {
          links.push_back(match[1]);
        }
      }
      if (links.size() >= nth) return links[nth - 1];
      std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < deadline);
    ADD_FAILURE() << "no mail to " << email << " with a link to /" << page << " within 20 s";
    return "/" + page + "?token=none";
  }
  static std::string token_of(const std::string& link) {
    return link.substr(link.find("token=") + 6);
  }
};

// Every answer of the pages: HTML, never cached, never a Referer, and the
// service's strict policy (no script at all; forms post to this origin only).
void expect_page_headers(const support::HttpResponse& response) {
  EXPECT_EQ(response.header("Content-Type"), kHtml);
  EXPECT_EQ(response.header("Cache-Control"), "no-store");
  EXPECT_EQ(response.header("Referrer-Policy"), "no-referrer");
  std::string csp = response.header("Content-Security-Policy");
  EXPECT_TRUE(contains(csp, "default-src 'none'")) << csp;
  EXPECT_TRUE(contains(csp, "form-action 'self'")) << csp;
  EXPECT_FALSE(contains(csp, "script-src")) << csp;
  EXPECT_FALSE(contains(response.body, "<script")) << response.body;
}

void expect_failed_page(const support::HttpResponse& response, const std::string& message) {
  EXPECT_EQ(response.status, 400) << response.body;
  expect_page_headers(response);
  EXPECT_TRUE(contains(response.body, message)) << response.body;
  EXPECT_FALSE(contains(response.body, "<form")) << "no form for a token that is no good";
}

// A link without a usable token: the form again, asking for the code the mail
// carries on a line of its own (a visible field, nothing echoed).
void expect_asking_page(const support::HttpResponse& response, const std::string& message) {
  EXPECT_EQ(response.status, 400) << response.body;
  expect_page_headers(response);
  EXPECT_TRUE(contains(response.body, message)) << response.body;
  EXPECT_TRUE(contains(response.body, R"(<input id="token" name="token" type="text")"))
      << response.body;
  EXPECT_FALSE(contains(response.body, R"(type="hidden")")) << response.body;
}

TEST_F(AccountPages, ResetPassword_MailsLinkFormThenDone_LoginWithTheNewPassword) {
  register_user("reset@example.com", "the old password");
  forgot("reset@example.com");
  std::string link = mailed_link("reset@example.com", "reset-password");
  std::string token = token_of(link);

  auto form = call("GET", link);
  ASSERT_EQ(form.status, 200) << form.body;
  expect_page_headers(form);
  EXPECT_TRUE(contains(form.body, R"(action="/reset-password" method="post")")) << form.body;
  EXPECT_TRUE(contains(form.body, R"(name="token" value=")" + token + "\"")) << form.body;
  EXPECT_TRUE(contains(form.body, R"(name="new_password" type="password")")) << form.body;
  EXPECT_EQ(login("reset@example.com", "the old password"), 200) << "a GET changes nothing";

  auto done = post_form("/reset-password", "token=" + token + "&new_password=a+new+passphrase");
  ASSERT_EQ(done.status, 200) << done.body;
  expect_page_headers(done);
  EXPECT_TRUE(contains(done.body, "Your password has been changed.")) << done.body;
  EXPECT_TRUE(contains(done.body, R"(<a href="/">)")) << done.body;
  EXPECT_FALSE(contains(done.body, token)) << "the done page does not carry the token on";
  EXPECT_EQ(login("reset@example.com", "a new passphrase"), 200);
  EXPECT_EQ(login("reset@example.com", "the old password"), 401);
}

TEST_F(AccountPages, ResetPassword_TokenWorksOnce_SecondSubmitIsTheErrorPage) {
  register_user("once@example.com", "the old password");
  forgot("once@example.com");
  std::string token = token_of(mailed_link("once@example.com", "reset-password"));
  ASSERT_EQ(post_form("/reset-password", "token=" + token + "&new_password=first+new+one").status,
            200);
  expect_failed_page(post_form("/reset-password", "token=" + token + "&new_password=second+one"),
                     kInvalidToken);
  EXPECT_EQ(login("once@example.com", "first new one"), 200);
  EXPECT_EQ(login("once@example.com", "second one"), 401);
}

TEST_F(AccountPages, ResetPassword_ExpiredToken_ErrorPageAndPasswordUnchanged) {
  register_user("late@example.com", "the old password");
  forgot("late@example.com");
  std::string token = token_of(mailed_link("late@example.com", "reset-password"));
  fixture::execute("UPDATE account_tokens SET expires_at = now() - interval '1 second'");
  EXPECT_EQ(call("GET", "/reset-password?token=" + token).status, 200)
      << "the GET reads no database: the form, and the submit says why not";
  expect_failed_page(post_form("/reset-password", "token=" + token + "&new_password=too+late+now"),
                     kInvalidToken);
  EXPECT_EQ(login("late@example.com", "the old password"), 200);
}

TEST_F(AccountPages, ResetPassword_PasswordBreakingTheRules_FormAgainThenTheTokenStillWorks) {
  register_user("rules@example.com", "the old password");
  forgot("rules@example.com");
  std::string token = token_of(mailed_link("rules@example.com", "reset-password"));
  for (const std::string& bad :
       {std::string("short"), std::string("++++++++++"), std::string(129, 'p')}) {
    SCOPED_TRACE(bad);
    auto again = post_form("/reset-password", "token=" + token + "&new_password=" + bad);
    EXPECT_EQ(again.status, 400) << again.body;
    expect_page_headers(again);
    EXPECT_TRUE(contains(again.body, "8 to 128 characters")) << again.body;
    EXPECT_TRUE(contains(again.body, R"(name="token" value=")" + token + "\"")) << again.body;
  }
  ASSERT_EQ(post_form("/reset-password", "token=" + token + "&new_password=a+good+one+now").status,
            200);
  EXPECT_EQ(login("rules@example.com", "a good one now"), 200);
}

TEST_F(AccountPages, Pages_MissingOrDamagedToken_400PageSaysSoAndAsksForTheCode) {
  const std::vector<std::string> missing = {"", "?token=", "?other=1"};
  const std::vector<std::string> damaged = {"?token=%ZZ", "?token=short",
                                            "?token=" + std::string(44, 'A'),
                                            "?token=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E"};
  for (const std::string page : {"/reset-password", "/verify-email"}) {
    for (const auto& query : missing) {
      SCOPED_TRACE(page + query);
      expect_asking_page(call("GET", page + query), "This link has no token.");
    }
    for (const auto& query : damaged) {
      SCOPED_TRACE(page + query);
      auto response = call("GET", page + query);
      expect_asking_page(response, "This link is incomplete or damaged.");
      EXPECT_FALSE(contains(response.body, "alert(1)")) << "a damaged token is not echoed";
    }
  }
}

TEST_F(AccountPages, ResetPassword_CodePastedWithSpaces_Works) {
  register_user("paste@example.com", "the old password");
  forgot("paste@example.com");
  std::string token = token_of(mailed_link("paste@example.com", "reset-password"));
  auto done =
      post_form("/reset-password", "token=+" + token + "+%0A&new_password=a+pasted+one+now");
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(login("paste@example.com", "a pasted one now"), 200);
}

TEST_F(AccountPages, Pages_PostNotAFormOrWithoutToken_400Page) {
  for (const std::string page : {"/reset-password", "/verify-email"}) {
    SCOPED_TRACE(page);
    expect_failed_page(call("POST", page, R"({"token":"x"})", kJson),
                       "Please submit the form on the page.");
    expect_failed_page(post_form(page, "token=%ZZ"), "Please submit the form on the page.");
    expect_asking_page(post_form(page, "new_password=a+good+one+now"), "This link has no token.");
    expect_failed_page(
        post_form(page, "token=" + std::string(43, 'A') + "&new_password=a+good+one"),
        kInvalidToken);
  }
}

TEST_F(AccountPages, ResetPassword_PostedTokenEchoed_IsEscaped) {
  auto response = post_form("/reset-password",
                            "token=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E&new_password=x");
  EXPECT_EQ(response.status, 400) << response.body;
  expect_page_headers(response);
  EXPECT_FALSE(contains(response.body, "<script>")) << response.body;
}

TEST_F(AccountPages, VerifyEmail_GetChangesNothing_TheButtonsPostVerifies) {
  std::string auth_token = register_user("verify@example.com", "a password here");
  std::string link = mailed_link("verify@example.com", "verify-email");
  std::string token = token_of(link);
  ASSERT_FALSE(email_verified(auth_token));

  // A mail scanner follows the link, maybe more than once: nothing changes.
  for (int i = 0; i < 3; ++i) {
    auto page = call("GET", link);
    ASSERT_EQ(page.status, 200) << page.body;
    expect_page_headers(page);
    EXPECT_TRUE(contains(page.body, R"(action="/verify-email" method="post")")) << page.body;
    EXPECT_TRUE(contains(page.body, R"(name="token" value=")" + token + "\"")) << page.body;
    EXPECT_TRUE(contains(page.body, "<button")) << page.body;
  }
  EXPECT_FALSE(email_verified(auth_token)) << "a GET verified the email";

  auto done = post_form("/verify-email", "token=" + token);
  ASSERT_EQ(done.status, 200) << done.body;
  expect_page_headers(done);
  EXPECT_TRUE(contains(done.body, "Your email address is verified.")) << done.body;
  EXPECT_TRUE(email_verified(auth_token));

  expect_failed_page(post_form("/verify-email", "token=" + token), kInvalidToken);
}

TEST_F(AccountPages, VerifyEmail_ExpiredToken_ErrorPageAndStillUnverified) {
  std::string auth_token = register_user("expired@example.com", "a password here");
  std::string token = token_of(mailed_link("expired@example.com", "verify-email"));
  fixture::execute("UPDATE account_tokens SET expires_at = now() - interval '1 second'");
  expect_failed_page(post_form("/verify-email", "token=" + token), kInvalidToken);
  EXPECT_FALSE(email_verified(auth_token));
}

}  // namespace
