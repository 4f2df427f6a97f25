// The pages a person opens from a mail, end to end without a browser:
// client -> nginx (prod template) -> users-service binary -> PostgreSQL, the
// mail through a real SMTP server (aiosmtpd) whose Maildir the test reads.
// The tokens those links carry never reach nginx's access log.
#include <gtest/gtest.h>
#include <strings.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "stack.hpp"
#include "support/http_client.hpp"
#include "support/smtp_sink.hpp"

namespace {

using namespace std::chrono_literals;

const support::Headers kJson = {{"Content-Type", "application/json"}};
const support::Headers kForm = {{"Content-Type", "application/x-www-form-urlencoded"}};

class AccountPagesThroughNginx : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sink = new support::SmtpSink();
    stack = new e2e::Stack(sink->url());
  }
  static void TearDownTestSuite() {
    delete stack;
    stack = nullptr;
    delete sink;
    sink = nullptr;
  }
  static support::HttpResponse call(const std::string& method, const std::string& path,
                                    const std::string& body = "",
                                    const support::Headers& headers = {}) {
    return support::http_request(stack->nginx_port(), method, path, body, headers);
  }
  static int login(const std::string& email, const std::string& password) {
    return call("POST", "/auth/login",
                nlohmann::json{{"email", email}, {"password", password}}.dump(), kJson)
        .status;
  }
  // The path and query of the link to `page` in the mail to `email`; the
  // link names nginx's address (PUBLIC_BASE_URL).
  static std::string mailed_link(const std::string& email, const std::string& page) {
    const std::regex link("http://127\\.0\\.0\\.1:" + std::to_string(stack->nginx_port()) + "(/" +
                          page + "\\?token=[A-Za-z0-9_-]+)");
    auto deadline = std::chrono::steady_clock::now() + 20s;
    do {
      for (const auto& message : sink->messages()) {
        std::smatch match;
        if (support::mail_header(message, "To") == email &&
            std::regex_search(message, match, link)) {
          return match[1];
        }
      }
      std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < deadline);
    ADD_FAILURE() << "no mail to " << email << " with a link to /" << page << " within 20 s";
    return "/" + page + "?token=none";
  }

  static support::SmtpSink* sink;
  static e2e::Stack* stack;
};

support::SmtpSink* AccountPagesThroughNginx::sink = nullptr;
e2e::Stack* AccountPagesThroughNginx::stack = nullptr;

int count_fields(const support::HttpResponse& response, const std::string& name) {
  return static_cast<int>(std::count_if(
      response.headers.begin(), response.headers.end(),
      [&](const auto& field) { return strcasecmp(field.first.c_str(), name.c_str()) == 0; }));
}

// nginx's headers replace the service's: each once, the strict policy.
void expect_page_headers(const support::HttpResponse& response) {
  EXPECT_EQ(response.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(response.header("Cache-Control"), "no-store");
  EXPECT_EQ(response.header("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(count_fields(response, "Referrer-Policy"), 1);
  EXPECT_EQ(count_fields(response, "Content-Security-Policy"), 1);
  std::string csp = response.header("Content-Security-Policy");
  EXPECT_NE(csp.find("form-action 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("script-src"), std::string::npos) << csp;
}

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::ostringstream content;
  content << file.rdbuf();
  return content.str();
}

TEST_F(AccountPagesThroughNginx, ResetAndVerify_FromTheMailsLinks_NoTokenInTheAccessLog) {
  const std::string email = "pages@e2e.io";
  auto registered =
      call("POST", "/auth/register",
           nlohmann::json{{"username", "pages"}, {"email", email}, {"password", "the old password"}}
               .dump(),
           kJson);
  ASSERT_EQ(registered.status, 201) << registered.body;
  // The registration's mail: its link shows a button, which verifies.
  std::string verify_link = mailed_link(email, "verify-email");
  std::string verify_token = verify_link.substr(verify_link.find("token=") + 6);
  auto button = call("GET", verify_link);
  ASSERT_EQ(button.status, 200) << button.body;
  expect_page_headers(button);
  auto verified = call("POST", "/verify-email", "token=" + verify_token, kForm);
  EXPECT_EQ(verified.status, 200) << verified.body;
  expect_page_headers(verified);

  // A reset from the forgot mail's link, then a login with the new password.
  auto forgot =
      call("POST", "/auth/password/forgot", nlohmann::json{{"email", email}}.dump(), kJson);
  ASSERT_EQ(forgot.status, 202) << forgot.body;
  std::string reset_link = mailed_link(email, "reset-password");
  std::string reset_token = reset_link.substr(reset_link.find("token=") + 6);
  auto form = call("GET", reset_link);
  ASSERT_EQ(form.status, 200) << form.body;
  expect_page_headers(form);
  auto done = call("POST", "/reset-password",
                   "token=" + reset_token + "&new_password=a+new+passphrase", kForm);
  ASSERT_EQ(done.status, 200) << done.body;
  expect_page_headers(done);
  EXPECT_NE(done.body.find("Your password has been changed."), std::string::npos) << done.body;
  EXPECT_EQ(login(email, "a new passphrase"), 200);
  EXPECT_EQ(login(email, "the old password"), 401);

  std::string log = read_file(stack->nginx_access_log());
  EXPECT_NE(log.find("/reset-password"), std::string::npos) << log;
  EXPECT_NE(log.find("/verify-email"), std::string::npos) << log;
  EXPECT_EQ(log.find(reset_token), std::string::npos) << "a reset token in the access log";
  EXPECT_EQ(log.find(verify_token), std::string::npos) << "a verification token in the access log";
}

}  // namespace
