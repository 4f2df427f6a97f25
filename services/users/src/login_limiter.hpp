// Brute-force brake for POST /auth/login: at most N failed logins a minute per
// key (the client's address, and separately the email tried). In memory, per
// instance: a replica set gives an attacker N per replica, still far below
// what guessing needs, and nothing to clean up in the database.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace users {

class LoginLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LoginLimiter(int max_failures, std::chrono::seconds window = std::chrono::seconds(60))
      : max_failures_(max_failures), window_(window) {}

  // Seconds to wait when `key` has used up its failures; nullopt to go ahead.
  std::optional<int> retry_after(const std::string& key, Clock::time_point now = Clock::now());
  void record_failure(const std::string& key, Clock::time_point now = Clock::now());
  void forget(const std::string& key);  // e.g. the email of a deleted user

 private:
  void prune(Clock::time_point now);  // forgets keys with no recent failure

  int max_failures_;
  std::chrono::seconds window_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<Clock::time_point>> failures_;
  Clock::time_point last_prune_{};
};

}  // namespace users
