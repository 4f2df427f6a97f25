// The flows of account_recovery.hpp over the repository, the limiter and the
// hasher.
#include "account_recovery.hpp"

#include "account_token.hpp"

namespace users {

AccountRecovery::AccountRecovery(const UsersConfig& config, UserRepository& users,
                                 LoginLimiter& limiter, const PasswordHasher& hasher)
    : mail_(config.mail),
      reset_ttl_seconds_(config.password_reset_ttl_seconds),
      verification_ttl_seconds_(config.email_verification_ttl_seconds),
      users_(users),
      limiter_(limiter),
      hasher_(hasher) {}

std::string spoken_duration(int seconds) {
  auto plural = [](int count, const char* unit) {
    return std::to_string(count) + " " + unit + (count == 1 ? "" : "s");
  };
  if (seconds % 3600 == 0) return plural(seconds / 3600, "hour");
  if (seconds % 60 == 0) return plural(seconds / 60, "minute");
  return plural(seconds, "second");
}

TokenMail AccountRecovery::token_mail(const char* purpose, const char* template_name,
                                      const char* page, int ttl_seconds) const {
  std::string token = new_account_token();
  TokenMail mail;
  mail.purpose = purpose;
  mail.token_hash = account_token_hash(token);
  mail.ttl_seconds = ttl_seconds;
  mail.template_name = template_name;
  // The token is base64url: it goes into the query string as it is.
  mail.mail =
      render_mail(template_name, {{"link", mail_.public_base_url + page + "?token=" + token},
                                  {"token", token},
                                  {"valid_for", spoken_duration(ttl_seconds)}});
  mail.message_id_domain = mail_.from_domain();
  return mail;
}

void AccountRecovery::limit(const std::string& client_address) {
  if (auto wait = limiter_.count_mail_request(client_address)) throw TooMany(*wait);
}

void AccountRecovery::request_password_reset(const std::string& email,
                                             const std::string& client_address) {
  if (!mail_.enabled) throw MailOff();
  limit(client_address);
  users_.queue_token_mail(
      email, token_mail("reset", "reset_password", "/reset-password", reset_ttl_seconds_),
      TokenMailRules{false, kMailsPerHour});
}

Account AccountRecovery::reset_password(const std::string& token, const std::string& new_password) {
  if (!is_account_token(token)) throw InvalidToken();
  if (!is_acceptable_password(new_password)) throw UnacceptablePassword();
  const std::string token_hash = account_token_hash(token);
  // A token that cannot work costs no hash; the reset itself decides again,
  // so a token used meanwhile still fails there.
  if (!users_.token_usable(token_hash, "reset")) throw InvalidToken();
  auto account = users_.reset_password(token_hash, hasher_.hash(new_password));
  if (!account) throw InvalidToken();
  return std::move(*account);
}

void AccountRecovery::verify_email(const std::string& token) {
  if (!is_account_token(token) || !users_.verify_email(account_token_hash(token))) {
    throw InvalidToken();
  }
}

void AccountRecovery::resend_verification(const std::string& email,
                                          const std::string& client_address) {
  if (!mail_.enabled) throw MailOff();
  limit(client_address);
  users_.queue_token_mail(email, *verification_mail(), TokenMailRules{true, kMailsPerHour});
}

std::optional<TokenMail> AccountRecovery::verification_mail() const {
  if (!mail_.enabled) return std::nullopt;
  return token_mail("verify", "verify_email", "/verify-email", verification_ttl_seconds_);
}

}  // namespace users
