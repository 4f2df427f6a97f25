// All SQL of the mail outbox (db/migrations/0006_mail_outbox.sql): writing a
// mail, a sender's claim / sent / failed attempt (libpqxx, on the sender's
// own connection), and the pending count and age for /metrics (the loops'
// pool, when /metrics is scraped).
#pragma once

#include <chrono>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/database.hpp"
#include "mail_message.hpp"
#include "mail_templates.hpp"

namespace users {

class MailOutbox {
 public:
  // Writes a mail in the caller's transaction; it goes out once that commits.
  // The Message-ID is fixed here: <random UUID@message_id_domain>. Returns the row's id.
  static long long enqueue(pqxx::work& work, const std::string& recipient,
                           const std::string& template_name, const RenderedMail& mail,
                           const std::string& message_id_domain);

  // The oldest due pending row, locked by `work` (FOR UPDATE SKIP LOCKED: a
  // row another sender holds is skipped, so every mail has one sender at a
  // time) until `work` ends. Nothing when no row is due.
  static std::optional<OutgoingMail> claim_due(pqxx::work& work);
  static void mark_sent(pqxx::work& work, long long id);
  // Counts a failed attempt: the next one after `delay`, or, once the row is
  // older than `retry_for`, marked failed for good (returns true then).
  static bool mark_attempt_failed(pqxx::work& work, long long id, const std::string& error,
                                  std::chrono::seconds delay, std::chrono::milliseconds retry_for);
};

// The outbox's pending rows as /metrics shows them, through the loops' pool.
class MailOutboxStatus {
 public:
  explicit MailOutboxStatus(common::Database& database) : database_(database) {}

  static std::vector<common::PreparedStatement> statements();

  // Appends mail_outbox_pending and mail_outbox_oldest_pending_age_seconds;
  // nothing when the database does not answer (the pool's metrics say so).
  void append_metrics(std::string& out);

 private:
  common::Database& database_;
};

}  // namespace users
