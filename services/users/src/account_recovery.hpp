// The rules of the ways back into an account, whoever asks (the JSON routes
// of routes/auth.cpp, the pages a mail links to): asking for a password
// reset, resetting with a mailed token, verifying an email, asking for the
// verification mail again. No HTTP here: refusals are the exceptions below,
// which the callers turn into their answers.
//
// Nothing tells a stranger whether an address has an account: a request for
// a mail does the same work (a token made, a mail rendered, the same
// statements) for every address, and succeeds alike whether a mail was
// queued or not. A token is never logged.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "login_limiter.hpp"
#include "passwords.hpp"
#include "user_repository.hpp"
#include "users_config.hpp"

namespace users {

// The token is malformed, unknown, used or expired (one answer for all:
// "Invalid or expired token.").
class InvalidToken : public std::runtime_error {
 public:
  InvalidToken() : std::runtime_error("Invalid or expired token.") {}
};

// The new password does not follow the rules of registration.
class UnacceptablePassword : public std::runtime_error {
 public:
  UnacceptablePassword() : std::runtime_error("Invalid payload.") {}
};

// Mail is off (no SMTP_URL): no mail can be asked for.
class MailOff : public std::runtime_error {
 public:
  MailOff() : std::runtime_error("Mail is not configured.") {}
};

// The client's address asked for too many mails in the login limiter's window.
class TooMany : public std::runtime_error {
 public:
  explicit TooMany(int retry_after_seconds)
      : std::runtime_error("Too many requests. Please try again later."),
        retry_after_seconds_(retry_after_seconds) {}
  int retry_after_seconds() const { return retry_after_seconds_; }

 private:
  int retry_after_seconds_;
};

class AccountRecovery {
 public:
  // Mails of one purpose to one address in an hour, at most.
  static constexpr int kMailsPerHour = 3;

  AccountRecovery(const UsersConfig& config, UserRepository& users, LoginLimiter& limiter,
                  const PasswordHasher& hasher);

  bool mail_enabled() const { return mail_.enabled; }

  // Queues a reset mail if the email is an active account's and its hourly
  // limit allows. Throws MailOff, TooMany (`client_address`'s window).
  void request_password_reset(const std::string& email, const std::string& client_address);
  // Sets the new password with a reset token: the account as it is now (a new
  // token_version, so every older token of the user has ended), for the
  // caller to issue a fresh auth token. Throws InvalidToken,
  // UnacceptablePassword, and the hasher's refusal when it is saturated.
  Account reset_password(const std::string& token, const std::string& new_password);
  // Marks the email the token was mailed to verified. Throws InvalidToken.
  void verify_email(const std::string& token);
  // Queues a verification mail if the email is an active, unverified
  // account's, limited as request_password_reset. Throws MailOff, TooMany.
  void resend_verification(const std::string& email, const std::string& client_address);

  // A verification mail, to be written with a new account or a changed email
  // (the repository's add_with_password and update); nullopt when mail is off.
  std::optional<TokenMail> verification_mail() const;

 private:
  // A new token and its mail, linking to PUBLIC_BASE_URL + `page`.
  TokenMail token_mail(const char* purpose, const char* template_name, const char* page,
                       int ttl_seconds) const;
  void limit(const std::string& client_address);

  MailSettings mail_;
  int reset_ttl_seconds_;
  int verification_ttl_seconds_;
  UserRepository& users_;
  LoginLimiter& limiter_;
  const PasswordHasher& hasher_;
};

// "30 minutes", "1 hour", "24 hours", "90 seconds": a token's life as a mail says it.
std::string spoken_duration(int seconds);

}  // namespace users
