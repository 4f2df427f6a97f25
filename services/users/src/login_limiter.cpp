// A sliding one-minute window of failure times per key.
#include "login_limiter.hpp"

namespace users {

std::optional<int> LoginLimiter::retry_after(const std::string& key, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return std::nullopt;
  auto& times = it->second;
  while (!times.empty() && times.front() + window_ <= now) times.pop_front();
  if (static_cast<int>(times.size()) < max_failures_) return std::nullopt;
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(times.front() + window_ - now);
  return static_cast<int>((wait.count() + 999) / 1000);  // whole seconds, rounded up
}

void LoginLimiter::record_failure(const std::string& key, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  prune(now);
  auto& times = failures_[key];
  times.push_back(now);
  // Only the newest max_failures_ matter for the decision.
  while (static_cast<int>(times.size()) > max_failures_) times.pop_front();
}

void LoginLimiter::forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  failures_.erase(key);
}

void LoginLimiter::prune(Clock::time_point now) {
  if (now - last_prune_ < window_) return;
  last_prune_ = now;
  for (auto it = failures_.begin(); it != failures_.end();) {
    if (it->second.empty() || it->second.back() + window_ <= now) {
      it = failures_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace users
