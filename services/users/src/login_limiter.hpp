// Brute-force brake for POST /auth/login, counted in PostgreSQL so that the
// limit holds on every replica and across restarts.
//
// Two keys per attempt: the client's address (an IPv6 client by its /64, which
// one host can fill at will) and the email tried. An attempt is counted before
// its password is hashed, atomically in one row, so a burst of parallel
// guesses cannot get more than LOGIN_MAX_FAILURES of them to the hash.
//   - Per address: at most N attempts a minute (a fixed one-minute window from
//     the first), then 429 until the minute is over.
//   - Per email: the same N a minute, then a throttle rather than a lock: 429
//     for a minute after the N-th, and each further attempt let through once
//     that has passed doubles the wait (2, 4, 8 minutes), at most 15 minutes.
//     An email left alone for 15 minutes after its wait starts over; a
//     successful login starts it over at once.
// A refused attempt (429) is not counted and costs no hash and no sleep.
// An email's key is folded in SQL by the database's lower(), the function of
// the unique index and of the login's lookup: every spelling that finds an
// account counts on its one key (under C.UTF-8, "\u212Airk@..." is kirk@...).
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "common/database.hpp"

namespace users {

class LoginLimiter {
 public:
  static constexpr int kWindowSeconds = 60;
  static constexpr int kMaxBackoffSeconds = 15 * 60;
  // What a key counts: a client address or an email.
  enum class Key { address, email };

  LoginLimiter(common::Database& database, int max_failures);

  static std::vector<common::PreparedStatement> statements();

  // Counts a login attempt before its password is checked: nullopt to go
  // ahead, or the seconds to wait (Retry-After) when the address or the email
  // has used up its attempts.
  std::optional<int> count_attempt(const std::string& address, const std::string& email);
  // Counts a request for a mail (password reset, verification) of the
  // address, in the same window and number as its login attempts but on a
  // key of its own, so that asking for mail does not lock its logins out:
  // nullopt to go ahead, or the seconds to wait.
  std::optional<int> count_mail_request(const std::string& address);
  // The attempt counted last for them succeeded: the address gets it back and
  // the email's counter starts over.
  void succeeded(const std::string& address, const std::string& email);
  // Forgets the email's counter (its account is gone).
  void forget_email(const std::string& email);

  // An address's key: an IPv4 address as it is (also an IPv4-mapped IPv6
  // one), an IPv6 address as its /64 block, anything else as it is. (An
  // email's key, 'email:' || lower(email), is made by the database.)
  static std::string address_key(const std::string& address);

 private:
  // nullopt when counted, else the seconds to wait; `text` is the address's
  // key or the email as given.
  std::optional<int> count(Key kind, const std::string& text, int backoff_cap_seconds);

  common::Database& database_;
  int max_failures_;
  std::atomic<unsigned> calls_{0};  // every 16th also prunes forgotten rows
};

}  // namespace users
