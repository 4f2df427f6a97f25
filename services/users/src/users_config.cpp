// Reads and validates the users service's own settings.
#include "users_config.hpp"

#include "common/config_values.hpp"

namespace users {
namespace {

using common::AppEnv;
using common::ConfigError;
using common::env::non_empty;
using common::env::parse_bool;
using common::env::parse_int;
using common::env::shown;

void read_tokens(const common::Config::Lookup& lookup, UsersConfig& config) {
  if (auto key = non_empty(lookup, "SECRET_KEY")) {
    config.secret_key = *key;
  } else if (config.app_env == AppEnv::production) {
    throw ConfigError("SECRET_KEY is required when APP_ENV=production");
  } else {
    config.secret_key = "secret";
  }
  // HS256 with a short key is brute-forced offline from any one token.
  if (config.app_env == AppEnv::production && config.secret_key.size() < 32) {
    throw ConfigError("SECRET_KEY must be at least 32 bytes when APP_ENV=production, got " +
                      std::to_string(config.secret_key.size()));
  }
  if (auto seconds = non_empty(lookup, "TOKEN_EXPIRATION_SECONDS")) {
    config.token_expiration_seconds =
        static_cast<int>(parse_int("TOKEN_EXPIRATION_SECONDS", *seconds, 1, 31536000));
  }
  if (auto require = non_empty(lookup, "REQUIRE_ADMIN_FOR_WRITES")) {
    config.require_admin_for_writes = parse_bool("REQUIRE_ADMIN_FOR_WRITES", *require);
  }
  if (auto require = non_empty(lookup, "REQUIRE_AUTH_FOR_READS")) {
    config.require_auth_for_reads = parse_bool("REQUIRE_AUTH_FOR_READS", *require);
  }
}

void read_passwords(const common::Config::Lookup& lookup, UsersConfig& config) {
  // Flask's testing config lowers the bcrypt rounds the same way.
  config.password_hash_cost = config.app_env == AppEnv::testing ? "min" : "interactive";
  if (auto cost = non_empty(lookup, "PASSWORD_HASH_COST")) {
    if (*cost != "min" && *cost != "interactive" && *cost != "moderate" && *cost != "sensitive") {
      throw ConfigError(
          "PASSWORD_HASH_COST must be min, interactive, moderate or sensitive, got '" +
          shown(*cost) + "'");
    }
    config.password_hash_cost = *cost;
  }
  if (auto failures = non_empty(lookup, "LOGIN_MAX_FAILURES")) {
    config.login_max_failures =
        static_cast<int>(parse_int("LOGIN_MAX_FAILURES", *failures, 1, 1000000));
  }
  if (auto concurrency = non_empty(lookup, "PASSWORD_HASH_CONCURRENCY")) {
    config.password_hash_concurrency =
        static_cast<int>(parse_int("PASSWORD_HASH_CONCURRENCY", *concurrency, 1, 1024));
  }
  if (auto wait = non_empty(lookup, "PASSWORD_HASH_QUEUE_TIMEOUT_MS")) {
    config.password_hash_queue_timeout_ms =
        static_cast<int>(parse_int("PASSWORD_HASH_QUEUE_TIMEOUT_MS", *wait, 1, 60000));
  }
}

// The mailed tokens' lives, and whether login needs a verified email.
void read_accounts(const common::Config::Lookup& lookup, UsersConfig& config) {
  constexpr long long kThirtyDays = 30LL * 86400;
  if (auto seconds = non_empty(lookup, "PASSWORD_RESET_TTL_SECONDS")) {
    config.password_reset_ttl_seconds =
        static_cast<int>(parse_int("PASSWORD_RESET_TTL_SECONDS", *seconds, 1, kThirtyDays));
  }
  if (auto seconds = non_empty(lookup, "EMAIL_VERIFICATION_TTL_SECONDS")) {
    config.email_verification_ttl_seconds =
        static_cast<int>(parse_int("EMAIL_VERIFICATION_TTL_SECONDS", *seconds, 1, kThirtyDays));
  }
  if (auto require = non_empty(lookup, "REQUIRE_VERIFIED_EMAIL")) {
    config.require_verified_email = parse_bool("REQUIRE_VERIFIED_EMAIL", *require);
  }
  // Without mail no new account could ever be verified, nor log in.
  if (config.require_verified_email && !config.mail.enabled) {
    throw ConfigError("REQUIRE_VERIFIED_EMAIL=true needs SMTP_URL: without mail nobody can verify");
  }
}

}  // namespace

UsersConfig UsersConfig::from_lookup(const Lookup& lookup) {
  UsersConfig config;
  static_cast<common::Config&>(config) = common::Config::from_lookup(lookup);
  read_tokens(lookup, config);
  read_passwords(lookup, config);
  config.mail = MailSettings::from_lookup(lookup);
  read_accounts(lookup, config);
  return config;
}

UsersConfig UsersConfig::from_env_or_exit(const char* program) {
  try {
    return from_lookup(common::environment());
  } catch (const ConfigError& error) {
    common::exit_for_config_error(program, error);
  }
}

}  // namespace users
