// MIME assembly for outgoing mail.
#include "mail_message.hpp"

#include <algorithm>
#include <ctime>
#include <functional>

namespace users {
namespace {

bool is_seven_bit(const std::string& text) {
  std::size_t line = 0;
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80 || c == '\0') return false;
    line = c == '\n' ? 0 : line + 1;
    if (line > 900) return false;  // RFC 5321's line limit is 998 octets
  }
  return true;
}

std::string base64(const std::string& data) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  while (i + 2 < data.size()) {
    unsigned n = (static_cast<unsigned char>(data[i]) << 16) |
                 (static_cast<unsigned char>(data[i + 1]) << 8) |
                 static_cast<unsigned char>(data[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
    i += 3;
  }
  if (i < data.size()) {
    unsigned n = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += i + 1 < data.size() ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Text with bare LF (the templates' line ends) as CRLF.
std::string crlf(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

void append_part(std::string& out, const std::string& boundary, const char* type,
                 const std::string& body) {
  out += "--" + boundary + "\r\n";
  out += std::string("Content-Type: ") + type + "; charset=utf-8\r\n";
  if (is_seven_bit(body)) {
    out += "Content-Transfer-Encoding: 7bit\r\n\r\n";
    out += crlf(body);
    return;
  }
  out += "Content-Transfer-Encoding: base64\r\n\r\n";
  std::string encoded = base64(body);
  for (std::size_t at = 0; at < encoded.size(); at += 76) out += encoded.substr(at, 76) + "\r\n";
}

// RFC 2047: a non-ASCII subject as UTF-8 encoded words.
std::string encoded_subject(const std::string& subject) {
  if (is_seven_bit(subject)) return subject;
  return "=?UTF-8?B?" + base64(subject) + "?=";
}

std::string rfc5322_date(std::chrono::system_clock::time_point when) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char buffer[64];
  std::size_t length = std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S +0000", &utc);
  return {buffer, length};
}

}  // namespace

std::string build_mime_message(const OutgoingMail& mail, const std::string& from,
                               std::chrono::system_clock::time_point date) {
  std::string boundary =
      "=_alt_" + std::to_string(std::hash<std::string>{}(mail.message_id)) + "_users";
  std::string out;
  out += "From: " + from + "\r\n";
  out += "To: " + mail.recipient + "\r\n";
  out += "Subject: " + encoded_subject(mail.subject) + "\r\n";
  out += "Date: " + rfc5322_date(date) + "\r\n";
  out += "Message-ID: " + mail.message_id + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n";
  out += "\r\n";
  append_part(out, boundary, "text/plain", mail.text_body);
  append_part(out, boundary, "text/html", mail.html_body);
  out += "--" + boundary + "--\r\n";
  return out;
}

std::chrono::seconds retry_delay(int attempts) {
  if (attempts <= 1) return std::chrono::seconds(1);
  if (attempts > 10) return std::chrono::seconds(300);
  return std::chrono::seconds(std::min(300LL, 1LL << (attempts - 1)));
}

}  // namespace users
