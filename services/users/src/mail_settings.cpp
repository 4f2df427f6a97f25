// Parses and validates the mail settings.
#include "mail_settings.hpp"

#include <cmath>
#include <cstdlib>
#include <iostream>

namespace users {
namespace {

std::optional<std::string> non_empty(const common::Config::Lookup& lookup,
                                     const std::string& name) {
  auto value = lookup(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

bool starts_with(const std::string& text, const char* prefix) {
  return text.rfind(prefix, 0) == 0;
}

// host[:port] after the scheme, nothing else (no path, no user info: the
// credentials have settings of their own, which keeps them out of the URL
// that log lines show).
bool is_host_and_port(const std::string& rest) {
  if (rest.empty()) return false;
  for (char c : rest) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return rest.front() != ':';
}

double parse_hours(const std::string& text) {
  char* end = nullptr;
  double hours = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(hours) || hours <= 0 || hours > 8760) {
    throw common::ConfigError(
        "MAIL_RETRY_HOURS must be a number of hours above 0 and at most 8760 (0.01 is 36 s), "
        "got '" +
        text.substr(0, 64) + "'");
  }
  return hours;
}

}  // namespace

bool is_plain_mail_address(const std::string& address) {
  auto at = address.find('@');
  if (at == std::string::npos || at == 0 || at + 1 >= address.size() ||
      address.find('@', at + 1) != std::string::npos || address.size() > 254) {
    return false;
  }
  for (char c : address) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f || c == '<' || c == '>' || c == ',' || c == '"') return false;
  }
  return true;
}

MailSettings MailSettings::from_lookup(const common::Config::Lookup& lookup) {
  MailSettings settings;
  if (auto hours = non_empty(lookup, "MAIL_RETRY_HOURS")) {
    settings.retry_for = std::chrono::milliseconds(
        static_cast<long long>(std::llround(parse_hours(*hours) * 3600.0 * 1000.0)));
  }
  auto url = non_empty(lookup, "SMTP_URL");
  if (!url) return settings;  // mail off: the rest is not needed
  settings.enabled = true;
  settings.smtp_url = *url;
  std::string rest;
  if (starts_with(*url, "smtp://")) {
    rest = url->substr(7);
  } else if (starts_with(*url, "smtps://")) {
    rest = url->substr(8);
    settings.tls = SmtpTls::implicit;
  } else {
    throw common::ConfigError("SMTP_URL must start with smtp:// or smtps://");
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (!is_host_and_port(rest)) {
    throw common::ConfigError(
        "SMTP_URL must be smtp://host[:port] or smtps://host[:port] (user and password go in "
        "SMTP_USER and SMTP_PASSWORD)");
  }
  if (auto tls = non_empty(lookup, "SMTP_TLS")) {
    if (*tls == "starttls") {
      if (settings.tls == SmtpTls::none) settings.tls = SmtpTls::starttls;
    } else if (*tls != "none") {
      throw common::ConfigError("SMTP_TLS must be none or starttls, got '" + tls->substr(0, 64) +
                                "'");
    } else if (settings.tls == SmtpTls::implicit) {
      throw common::ConfigError("SMTP_TLS=none contradicts SMTP_URL smtps:// (TLS from the start)");
    }
  }
  settings.user = lookup("SMTP_USER").value_or("");
  settings.password = lookup("SMTP_PASSWORD").value_or("");
  if (!settings.password.empty() && settings.user.empty()) {
    throw common::ConfigError("SMTP_PASSWORD is set but SMTP_USER is not");
  }
  auto from = non_empty(lookup, "MAIL_FROM");
  if (!from || !is_plain_mail_address(*from)) {
    throw common::ConfigError(
        "MAIL_FROM must be a plain address such as users@example.com when SMTP_URL is set");
  }
  settings.from = *from;
  auto base = non_empty(lookup, "PUBLIC_BASE_URL");
  if (!base || !(starts_with(*base, "http://") || starts_with(*base, "https://"))) {
    throw common::ConfigError(
        "PUBLIC_BASE_URL is required when SMTP_URL is set: the http:// or https:// address people "
        "open the mail's links at");
  }
  settings.public_base_url = *base;
  while (!settings.public_base_url.empty() && settings.public_base_url.back() == '/') {
    settings.public_base_url.pop_back();
  }
  return settings;
}

MailSettings MailSettings::from_env_or_exit(const char* program) {
  try {
    return from_lookup([](const std::string& name) -> std::optional<std::string> {
      // Read once at start-up, before any thread starts.
      // NOLINTNEXTLINE(concurrency-mt-unsafe)
      if (const char* value = std::getenv(name.c_str())) return std::string(value);
      return std::nullopt;
    });
  } catch (const common::ConfigError& error) {
    std::cerr << program << ": configuration error: " << error.what() << "\n";
    std::exit(2);  // NOLINT(concurrency-mt-unsafe): at start-up, one thread
  }
}

std::string MailSettings::from_domain() const {
  auto at = from.find('@');
  return at == std::string::npos ? "localhost" : from.substr(at + 1);
}

}  // namespace users
