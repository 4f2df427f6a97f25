// One outbox row as the bytes an SMTP server receives (RFC 5322 + MIME): a
// multipart/alternative with the text part first and the HTML part second,
// so that a client shows the richest part it can. No I/O.
#pragma once

#include <chrono>
#include <string>

namespace users {

struct OutgoingMail {
  long long id = 0;
  std::string recipient;
  std::string subject;
  std::string text_body;
  std::string html_body;
  std::string message_id;  // "<...@domain>", fixed when the row was written
  int attempts = 0;        // failed attempts so far
};

// The message with CRLF line ends. `from` and the recipient are plain
// addresses (validated before); `date` is the Date header's time. The
// boundary is derived from the Message-ID, so a resend is byte-identical
// except for the Date.
std::string build_mime_message(const OutgoingMail& mail, const std::string& from,
                               std::chrono::system_clock::time_point date);

// How long to wait after the `attempts`-th failed attempt: 1 s, doubling,
// at most 5 minutes.
std::chrono::seconds retry_delay(int attempts);

}  // namespace users
