// The outbox's sender: one thread of its own with its own libpqxx
// connection, never on an event loop. It claims the oldest due mail (FOR
// UPDATE SKIP LOCKED, so replicas sharing one outbox never send a mail
// twice at once), sends it over SMTP while holding the row, and marks it sent
// or schedules the next attempt (1 s doubling to 5 min) until MAIL_RETRY_HOURS,
// then marks it failed.
//
// Delivery is at least once: a crash between the server's "250 OK" and the
// commit of "sent" leaves the row pending, and it is sent again with the same
// Message-ID.
//
// Every wait is bounded: SMTP by its connect and transfer timeouts, each SQL
// statement by statement_timeout, a connection by connect_timeout. stop()
// aborts a transfer in progress (the row stays as it was) and returns within
// a statement timeout.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <string>
#include <thread>

#include "mail_settings.hpp"
#include "smtp_client.hpp"

namespace users {

class MailSender {
 public:
  MailSender(const std::string& database_url, MailSettings settings, SmtpTimeouts timeouts = {});
  ~MailSender();
  MailSender(const MailSender&) = delete;
  MailSender& operator=(const MailSender&) = delete;

  void start();
  void stop();  // idempotent

  // mails_sent_total, mails_failed_total, mails_retried_total.
  void append_metrics(std::string& out) const;

 private:
  void run();
  // Sends the oldest due mail, if any; false when none was due.
  bool send_one(pqxx::connection& connection);
  void pause(std::chrono::milliseconds duration);

  std::string database_url_;
  MailSettings settings_;
  SmtpTimeouts timeouts_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
  std::atomic<long long> sent_{0};
  std::atomic<long long> failed_{0};
  std::atomic<long long> retried_{0};
};

}  // namespace users
