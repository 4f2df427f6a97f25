// SQL of the mail outbox. Times come from the database's clock
// (clock_timestamp(): a claim's transaction lasts as long as the SMTP
// transfer), so replicas with skewed clocks agree on what is due.
#include "mail_outbox.hpp"

#include <exception>

namespace users {

long long MailOutbox::enqueue(pqxx::work& work, const std::string& recipient,
                              const std::string& template_name, const RenderedMail& mail,
                              const std::string& message_id_domain) {
  auto result = work.exec_params(
      "INSERT INTO mail_outbox (recipient, template, subject, text_body, html_body, message_id)"
      " VALUES ($1, $2, $3, $4, $5, '<' || gen_random_uuid() || '@' || $6 || '>') RETURNING id",
      recipient, template_name, mail.subject, mail.text, mail.html, message_id_domain);
  return result[0][0].as<long long>();
}

std::optional<OutgoingMail> MailOutbox::claim_due(pqxx::work& work) {
  auto result = work.exec(
      "SELECT id, recipient, subject, text_body, html_body, message_id, attempts"
      " FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL"
      " AND next_attempt_at <= clock_timestamp()"
      " ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED");
  if (result.empty()) return std::nullopt;
  const auto& row = result[0];
  OutgoingMail mail;
  mail.id = row[0].as<long long>();
  mail.recipient = row[1].as<std::string>();
  mail.subject = row[2].as<std::string>();
  mail.text_body = row[3].as<std::string>();
  mail.html_body = row[4].as<std::string>();
  mail.message_id = row[5].as<std::string>();
  mail.attempts = row[6].as<int>();
  return mail;
}

void MailOutbox::mark_sent(pqxx::work& work, long long id) {
  work.exec_params(
      "UPDATE mail_outbox SET sent_at = clock_timestamp(), attempts = attempts + 1,"
      " last_error = NULL WHERE id = $1",
      id);
}

bool MailOutbox::mark_attempt_failed(pqxx::work& work, long long id, const std::string& error,
                                     std::chrono::seconds delay,
                                     std::chrono::milliseconds retry_for) {
  auto result = work.exec_params(
      "UPDATE mail_outbox SET attempts = attempts + 1, last_error = left($2, 1000),"
      " next_attempt_at = clock_timestamp() + make_interval(secs => $3::double precision),"
      " failed_at = CASE WHEN clock_timestamp() >= created_at"
      " + make_interval(secs => $4::double precision) THEN clock_timestamp() END"
      " WHERE id = $1 RETURNING failed_at IS NOT NULL",
      id, error, static_cast<double>(delay.count()),
      static_cast<double>(retry_for.count()) / 1000.0);
  return !result.empty() && result[0][0].as<bool>();
}

std::vector<common::PreparedStatement> MailOutboxStatus::statements() {
  return {
      {"mail_outbox_pending",
       "SELECT count(*), coalesce(floor(extract(epoch FROM now() - min(created_at))), 0)::bigint"
       " FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL"},
  };
}

void MailOutboxStatus::append_metrics(std::string& out) {
  common::Rows rows;
  try {
    rows = database_.run(common::Statement{"mail_outbox_pending", {}});
  } catch (const std::exception&) {
    return;
  }
  if (rows.empty()) return;
  out += "# HELP mail_outbox_pending Mails in the outbox not yet sent nor given up.\n";
  out += "# TYPE mail_outbox_pending gauge\n";
  out += "mail_outbox_pending " + std::to_string(rows.integer(0, 0)) + "\n";
  out +=
      "# HELP mail_outbox_oldest_pending_age_seconds Age of the oldest pending mail (0: none).\n";
  out += "# TYPE mail_outbox_oldest_pending_age_seconds gauge\n";
  out += "mail_outbox_oldest_pending_age_seconds " + std::to_string(rows.integer(0, 1)) + "\n";
}

}  // namespace users
