// What every change to an account leaves behind, whichever route made it: an
// audit line and a count in /metrics (account_changes_total{action}).
#pragma once

#include <atomic>
#include <string>

#include "authenticator.hpp"

namespace users {

class AccountChanges {
 public:
  enum class Action { update, deactivate, remove, password_change };

  // Logs one line (who, what, to whom, which fields: ids and field names
  // only, never a value: no email, password or token) and counts it.
  void record(const Session& session, Action action, long long user_id,
              const std::string& fields = {});

  // account_changes_total{action} in Prometheus text.
  void append_metrics(std::string& out) const;

 private:
  std::atomic<unsigned long long> updates_{0};
  std::atomic<unsigned long long> deactivations_{0};
  std::atomic<unsigned long long> deletions_{0};
  std::atomic<unsigned long long> password_changes_{0};
};

}  // namespace users
