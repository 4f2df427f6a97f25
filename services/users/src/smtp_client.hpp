// Sends one message over SMTP with libcurl: smtp:// (optionally upgraded
// with STARTTLS) or smtps://. Every wait is bounded: the connection by
// `connect_timeout`, the whole transfer by `transfer_timeout`, and `stop`
// (checked while the transfer runs) ends it early for a clean shutdown.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "mail_settings.hpp"

namespace users {

struct SmtpResult {
  bool ok = false;
  std::string error;  // curl's reason and the server's last reply; never the message
};

struct SmtpTimeouts {
  std::chrono::milliseconds connect{10000};
  std::chrono::milliseconds transfer{60000};
};

SmtpResult smtp_send(const MailSettings& settings, const std::string& recipient,
                     const std::string& message, const std::atomic<bool>* stop = nullptr,
                     SmtpTimeouts timeouts = {});

}  // namespace users
