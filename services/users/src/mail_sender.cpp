// The sender's loop: claim, send, mark; on a database error, reconnect after
// a second. Logs name the mail's outbox id and Message-ID, never its
// recipient (the project logs no emails; the row has it) nor its body.
#include "mail_sender.hpp"

#include <spdlog/spdlog.h>

#include <pqxx/pqxx>

#include "mail_outbox.hpp"

namespace users {
namespace {

// An idle sender looks for due mail this often (one index probe).
constexpr std::chrono::milliseconds idle_poll{500};
constexpr std::chrono::milliseconds reconnect_pause{1000};

// The sender's connection: connecting bounded (connect_timeout, seconds).
std::string with_connect_timeout(const std::string& url) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=5";
}

}  // namespace

MailSender::MailSender(const std::string& database_url, MailSettings settings,
                       SmtpTimeouts timeouts)
    : database_url_(with_connect_timeout(database_url)),
      settings_(std::move(settings)),
      timeouts_(timeouts) {}

MailSender::~MailSender() {
  stop();
}

void MailSender::start() {
  thread_ = std::thread([this] { run(); });
}

void MailSender::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MailSender::pause(std::chrono::milliseconds duration) {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait_for(lock, duration, [this] { return stop_.load(); });
}

void MailSender::run() {
  std::unique_ptr<pqxx::connection> connection;
  bool database_down = false;
  while (!stop_) {
    try {
      if (!connection) {
        connection = std::make_unique<pqxx::connection>(database_url_);
        pqxx::nontransaction setup(*connection);
        // A statement waits at most 5 s; a claim's transaction stays open
        // through one SMTP transfer, so it may idle a little longer than that.
        setup.exec("SET statement_timeout = 5000");
        setup.exec("SET idle_in_transaction_session_timeout = " +
                   std::to_string(timeouts_.connect.count() + timeouts_.transfer.count() + 30000));
        if (database_down) spdlog::info("mail sender: database reachable again");
        database_down = false;
      }
      if (!send_one(*connection)) pause(idle_poll);
    } catch (const std::exception& error) {
      if (!database_down) {
        spdlog::warn("mail sender: database error, trying again every second: {}", error.what());
      }
      database_down = true;
      connection.reset();
      pause(reconnect_pause);
    }
  }
}

bool MailSender::send_one(pqxx::connection& connection) {
  pqxx::work work(connection);
  auto mail = MailOutbox::claim_due(work);
  if (!mail) {
    work.commit();
    return false;
  }
  SmtpResult result;
  if (is_plain_mail_address(mail->recipient)) {
    auto message = build_mime_message(*mail, settings_.from, std::chrono::system_clock::now());
    result = smtp_send(settings_, mail->recipient, message, &stop_, timeouts_);
  } else {
    result.error = "the recipient is not a plain mail address";
  }
  // Stopping aborted the transfer: leave the row as it was (rolled back).
  if (!result.ok && stop_) return true;
  if (result.ok) {
    MailOutbox::mark_sent(work, mail->id);
    work.commit();
    ++sent_;
    spdlog::info("mail {} sent (Message-ID {})", mail->id, mail->message_id);
    return true;
  }
  int attempts = mail->attempts + 1;
  auto delay = retry_delay(attempts);
  bool given_up = MailOutbox::mark_attempt_failed(
      work, mail->id, result.error, delay,
      is_plain_mail_address(mail->recipient) ? settings_.retry_for : std::chrono::milliseconds(0));
  work.commit();
  if (given_up) {
    ++failed_;
    spdlog::error("mail {} (Message-ID {}) failed after {} attempts, given up: {}", mail->id,
                  mail->message_id, attempts, result.error);
  } else {
    ++retried_;
    spdlog::warn("mail {}: attempt {} failed, next in {} s: {}", mail->id, attempts, delay.count(),
                 result.error);
  }
  return true;
}

void MailSender::append_metrics(std::string& out) const {
  out += "# HELP mails_sent_total Mails the SMTP server accepted.\n";
  out += "# TYPE mails_sent_total counter\n";
  out += "mails_sent_total " + std::to_string(sent_.load()) + "\n";
  out += "# HELP mails_failed_total Mails given up after MAIL_RETRY_HOURS.\n";
  out += "# TYPE mails_failed_total counter\n";
  out += "mails_failed_total " + std::to_string(failed_.load()) + "\n";
  out += "# HELP mails_retried_total Failed attempts that will be tried again.\n";
  out += "# TYPE mails_retried_total counter\n";
  out += "mails_retried_total " + std::to_string(retried_.load()) + "\n";
}

}  // namespace users
