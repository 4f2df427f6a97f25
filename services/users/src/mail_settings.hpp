// The users service's mail settings (SMTP_URL and friends), read once at
// start-up. They are the service's own, not common::Config's: nothing in
// common sends mail.
#pragma once

#include <chrono>
#include <string>

#include "common/config.hpp"

namespace users {

enum class SmtpTls { none, starttls, implicit };  // implicit: smtps://

struct MailSettings {
  bool enabled = false;  // SMTP_URL set; otherwise mail is off
  std::string smtp_url;  // smtp://host:port or smtps://host:port
  SmtpTls tls = SmtpTls::none;
  std::string user;             // SMTP_USER (empty: no AUTH)
  std::string password;         // SMTP_PASSWORD; never logged
  std::string from;             // MAIL_FROM, a bare address
  std::string public_base_url;  // PUBLIC_BASE_URL, without a trailing slash
  // MAIL_RETRY_HOURS (fractional hours allowed: 0.01 is 36 s): how long a
  // mail is retried before it is marked failed.
  std::chrono::milliseconds retry_for = std::chrono::hours(24);

  // Throws common::ConfigError (one line naming the variable) for a bad value.
  static MailSettings from_lookup(const common::Config::Lookup& lookup);
  // from the environment, or print "<program>: configuration error: ..." and exit(2).
  static MailSettings from_env_or_exit(const char* program);

  // The domain of MAIL_FROM, for Message-IDs.
  std::string from_domain() const;
};

// True for a plain address (local@domain) with nothing a mail header could
// be split by: no spaces, control characters, angle brackets or commas.
bool is_plain_mail_address(const std::string& address);

}  // namespace users
