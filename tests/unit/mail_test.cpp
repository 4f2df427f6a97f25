// The mail settings (SMTP_URL and friends, through from_lookup), the MIME
// message a mail becomes, the retry schedule and the templates: no network,
// no database.
#include <gtest/gtest.h>

#include <string>

#include "mail_message.hpp"
#include "mail_settings.hpp"
#include "mail_templates.hpp"
#include "settings_vars.hpp"

namespace {

using settings_vars::Vars;
using users::MailSettings;
using users::SmtpTls;

const Vars kOn = {{"SMTP_URL", "smtp://mail.example.com:587"},
                  {"MAIL_FROM", "users@example.com"},
                  {"PUBLIC_BASE_URL", "https://users.example.com/"}};

const auto load = settings_vars::load<MailSettings>;
const auto error_of = settings_vars::error_of<MailSettings>;

Vars with(Vars vars, const std::string& name, const std::string& value) {
  vars[name] = value;
  return vars;
}

TEST(MailSettings, NoSmtpUrl_MailOffAndNothingElseRequired) {
  auto settings = load({});
  EXPECT_FALSE(settings.enabled);
  EXPECT_EQ(settings.retry_for, std::chrono::hours(24));
  EXPECT_FALSE(load({{"SMTP_URL", ""}}).enabled);
}

TEST(MailSettings, SmtpUrlWithFromAndBaseUrl_On) {
  auto settings = load(kOn);
  EXPECT_TRUE(settings.enabled);
  EXPECT_EQ(settings.tls, SmtpTls::none);
  EXPECT_EQ(settings.from, "users@example.com");
  EXPECT_EQ(settings.from_domain(), "example.com");
  EXPECT_EQ(settings.public_base_url, "https://users.example.com");  // no trailing slash
}

TEST(MailSettings, Tls_StarttlsOnSmtpAndImpliedBySmtps) {
  EXPECT_EQ(load(with(kOn, "SMTP_TLS", "starttls")).tls, SmtpTls::starttls);
  EXPECT_EQ(load(with(kOn, "SMTP_TLS", "none")).tls, SmtpTls::none);
  EXPECT_EQ(load(with(kOn, "SMTP_URL", "smtps://mail.example.com")).tls, SmtpTls::implicit);
  auto both = with(with(kOn, "SMTP_URL", "smtps://mail.example.com"), "SMTP_TLS", "starttls");
  EXPECT_EQ(load(both).tls, SmtpTls::implicit);
  EXPECT_NE(error_of(with(kOn, "SMTP_TLS", "yes")).find("SMTP_TLS must be none or starttls"),
            std::string::npos);
  auto contradiction = with(with(kOn, "SMTP_URL", "smtps://mail.example.com"), "SMTP_TLS", "none");
  EXPECT_NE(error_of(contradiction).find("SMTP_TLS=none"), std::string::npos);
}

TEST(MailSettings, BadSmtpUrl_OneLineError) {
  EXPECT_NE(error_of(with(kOn, "SMTP_URL", "http://mail.example.com")).find("smtp:// or smtps://"),
            std::string::npos);
  // Credentials belong in SMTP_USER / SMTP_PASSWORD, not in a URL that logs show.
  EXPECT_NE(error_of(with(kOn, "SMTP_URL", "smtp://u:p@mail.example.com")).find("SMTP_USER"),
            std::string::npos);
  EXPECT_NE(error_of(with(kOn, "SMTP_URL", "smtp://")).find("SMTP_URL"), std::string::npos);
  EXPECT_NE(error_of(with(kOn, "SMTP_URL", "smtp://host/path")).find("SMTP_URL"),
            std::string::npos);
}

TEST(MailSettings, MissingOrBadFromAndBaseUrl_Refused) {
  Vars no_from = kOn;
  no_from.erase("MAIL_FROM");
  EXPECT_NE(error_of(no_from).find("MAIL_FROM"), std::string::npos);
  EXPECT_NE(error_of(with(kOn, "MAIL_FROM", "Users <users@example.com>")).find("MAIL_FROM"),
            std::string::npos);
  EXPECT_NE(error_of(with(kOn, "MAIL_FROM", "users@example.com\r\nBcc: x@y")).find("MAIL_FROM"),
            std::string::npos);
  Vars no_base = kOn;
  no_base.erase("PUBLIC_BASE_URL");
  EXPECT_NE(error_of(no_base).find("PUBLIC_BASE_URL is required"), std::string::npos);
  EXPECT_NE(error_of(with(kOn, "PUBLIC_BASE_URL", "users.example.com")).find("PUBLIC_BASE_URL"),
            std::string::npos);
}

TEST(MailSettings, PasswordWithoutUser_Refused) {
  EXPECT_NE(error_of(with(kOn, "SMTP_PASSWORD", "pw")).find("SMTP_USER"), std::string::npos);
  auto settings = load(with(with(kOn, "SMTP_PASSWORD", "pw"), "SMTP_USER", "me"));
  EXPECT_EQ(settings.user, "me");
  EXPECT_EQ(settings.password, "pw");
}

TEST(MailSettings, RetryHours_FractionalAllowedBadRefused) {
  EXPECT_EQ(load(with(kOn, "MAIL_RETRY_HOURS", "48")).retry_for, std::chrono::hours(48));
  EXPECT_EQ(load({{"MAIL_RETRY_HOURS", "0.01"}}).retry_for, std::chrono::seconds(36));
  for (const char* bad : {"0", "-1", "abc", "1h", "9000", "nan", "inf"}) {
    EXPECT_NE(error_of({{"MAIL_RETRY_HOURS", bad}}).find("MAIL_RETRY_HOURS must be"),
              std::string::npos)
        << bad;
  }
}

TEST(MailAddress, PlainOnly) {
  EXPECT_TRUE(users::is_plain_mail_address("a.b+c@example.com"));
  for (const char* bad : {"", "a", "@example.com", "a@", "a@b@c", "a b@example.com",
                          "a@example.com\n", "<a@example.com>", "a@example.com,b@example.com"}) {
    EXPECT_FALSE(users::is_plain_mail_address(bad)) << bad;
  }
}

users::OutgoingMail sample() {
  users::OutgoingMail mail;
  mail.id = 7;
  mail.recipient = "person@example.com";
  mail.subject = "Hello";
  mail.text_body = "line one\nline two\n";
  mail.html_body = "<p>hi</p>";
  mail.message_id = "<abc@example.com>";
  return mail;
}

TEST(MimeMessage, MultipartAlternative_TextThenHtml_CrlfAndHeaders) {
  auto date = std::chrono::system_clock::from_time_t(1796570000);
  auto message = users::build_mime_message(sample(), "users@example.com", date);
  EXPECT_EQ(message.find("From: users@example.com\r\nTo: person@example.com\r\nSubject: Hello\r\n"),
            0u);
  EXPECT_NE(message.find("\r\nMessage-ID: <abc@example.com>\r\n"), std::string::npos);
  EXPECT_NE(message.find("\r\nDate: "), std::string::npos);
  EXPECT_NE(message.find("\r\nMIME-Version: 1.0\r\n"), std::string::npos);
  EXPECT_NE(message.find("Content-Type: multipart/alternative; boundary="), std::string::npos);
  auto text_at = message.find("Content-Type: text/plain; charset=utf-8\r\n");
  auto html_at = message.find("Content-Type: text/html; charset=utf-8\r\n");
  ASSERT_NE(text_at, std::string::npos);
  ASSERT_NE(html_at, std::string::npos);
  EXPECT_LT(text_at, html_at);
  EXPECT_NE(message.find("line one\r\nline two\r\n"), std::string::npos);
  // Every line ends in CRLF (SMTP's line end).
  for (std::size_t at = message.find('\n'); at != std::string::npos;
       at = message.find('\n', at + 1)) {
    ASSERT_EQ(message[at - 1], '\r') << "bare LF at " << at;
  }
}

TEST(MimeMessage, SameMailResent_SameBytesButTheDate) {
  auto first = users::build_mime_message(sample(), "users@example.com",
                                         std::chrono::system_clock::from_time_t(1796570000));
  auto again = users::build_mime_message(sample(), "users@example.com",
                                         std::chrono::system_clock::from_time_t(1796570000));
  EXPECT_EQ(first, again);
}

TEST(MimeMessage, NonAscii_Base64PartAndEncodedSubject) {
  auto mail = sample();
  mail.subject = "Grüße";
  mail.text_body = "Grüße";
  auto message = users::build_mime_message(mail, "users@example.com",
                                           std::chrono::system_clock::from_time_t(0));
  EXPECT_NE(message.find("Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"), std::string::npos);
  EXPECT_NE(message.find("Content-Transfer-Encoding: base64\r\n\r\nR3LDvMOfZQ==\r\n"),
            std::string::npos);
  for (char c : message) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
}

TEST(RetryDelay, OneSecondDoublingToFiveMinutes) {
  using std::chrono::seconds;
  EXPECT_EQ(users::retry_delay(1), seconds(1));
  EXPECT_EQ(users::retry_delay(2), seconds(2));
  EXPECT_EQ(users::retry_delay(3), seconds(4));
  EXPECT_EQ(users::retry_delay(9), seconds(256));
  EXPECT_EQ(users::retry_delay(10), seconds(300));
  EXPECT_EQ(users::retry_delay(1000), seconds(300));
}

TEST(MailTemplates, TestMail_HtmlEscapedTextAsIs) {
  auto mail = users::render_mail(
      "test_mail", {{"recipient", "a&b@example.com"}, {"base_url", "https://x.example"}});
  EXPECT_EQ(mail.subject, "Test mail from users-service");
  EXPECT_NE(mail.text.find("sent to a&b@example.com"), std::string::npos);
  EXPECT_NE(mail.html.find("sent to a&amp;b@example.com"), std::string::npos);
  EXPECT_NE(mail.html.find("<a href=\"https://x.example\">"), std::string::npos);
  EXPECT_THROW(users::render_mail("no_such_mail", {}), std::out_of_range);
}

}  // namespace
