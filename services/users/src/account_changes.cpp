#include "account_changes.hpp"

#include <spdlog/spdlog.h>

namespace users {
namespace {

const char* name_of(AccountChanges::Action action) {
  switch (action) {
    case AccountChanges::Action::update:
      return "update";
    case AccountChanges::Action::deactivate:
      return "deactivate";
    case AccountChanges::Action::remove:
      return "delete";
    case AccountChanges::Action::password_change:
      return "password_change";
  }
  return "unknown";
}

}  // namespace

void AccountChanges::record(const Session& session, Action action, long long user_id,
                            const std::string& fields) {
  spdlog::info("audit: actor={} action={} user={}{}{}", session.account.user.id, name_of(action),
               user_id, fields.empty() ? "" : " fields=", fields);
  auto& count = action == Action::update       ? updates_
                : action == Action::deactivate ? deactivations_
                : action == Action::remove     ? deletions_
                                               : password_changes_;
  count.fetch_add(1, std::memory_order_relaxed);
}

void AccountChanges::append_metrics(std::string& out) const {
  out += "# HELP account_changes_total Account changes made through the API, by action.\n";
  out += "# TYPE account_changes_total counter\n";
  auto line = [&out](const char* action, const std::atomic<unsigned long long>& count) {
    out += "account_changes_total{action=\"";
    out += action;
    out += "\"} ";
    out += std::to_string(count.load(std::memory_order_relaxed));
    out += '\n';
  };
  line("update", updates_);
  line("deactivate", deactivations_);
  line("delete", deletions_);
  line("password_change", password_changes_);
}

}  // namespace users
