// The users service's settings: the server's (common::Config) and, read from
// the same environment with the same checks, the service's own.
#pragma once

#include <string>

#include "common/config.hpp"
#include "mail_settings.hpp"

namespace users {

struct UsersConfig : common::Config {
  std::string secret_key;  // SECRET_KEY: at least 32 bytes in production
  int token_expiration_seconds = 3600;
  bool require_admin_for_writes = false;
  bool require_auth_for_reads = false;  // GET /users and /users/{id} need a valid token
  // Argon2id cost: min (tests), interactive (default), moderate, sensitive.
  std::string password_hash_cost = "interactive";
  int login_max_failures = 10;  // failed logins per address and per email a minute
  // Argon2id hashes computed at once; 0: from the memory and CPUs the cgroup
  // allows (see default_hash_concurrency).
  int password_hash_concurrency = 0;
  // How long a hash may wait for its turn before the request gets a 503.
  int password_hash_queue_timeout_ms = 2000;
  MailSettings mail;                           // SMTP_URL and friends; off without SMTP_URL
  int password_reset_ttl_seconds = 1800;       // a reset link's life
  int email_verification_ttl_seconds = 86400;  // a verification link's life
  bool require_verified_email = false;         // login refuses unverified accounts (403)

  // The server's settings first, then the service's; a ConfigError names the
  // first variable refused.
  static UsersConfig from_lookup(const Lookup& lookup);
  // from the environment, or print "<program>: configuration error: ..." and exit(2).
  static UsersConfig from_env_or_exit(const char* program);
};

}  // namespace users
