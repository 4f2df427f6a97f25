// libcurl's SMTP client, one easy handle per message (mail is rare: a
// connection per message costs nothing that matters and keeps no state).
#include "smtp_client.hpp"

#include <curl/curl.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>

#include "common/text.hpp"

namespace users {
namespace {

struct Upload {
  const std::string* data;
  std::size_t offset = 0;
};

std::size_t read_message(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  std::size_t room = size * count;
  std::size_t left = upload->data->size() - upload->offset;
  std::size_t n = left < room ? left : room;
  std::memcpy(buffer, upload->data->data() + upload->offset, n);
  upload->offset += n;
  return n;
}

// A non-zero return aborts the transfer (CURLE_ABORTED_BY_CALLBACK).
int check_stop(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* stop = static_cast<const std::atomic<bool>*>(user);
  return stop && stop->load() ? 1 : 0;
}

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

SmtpResult smtp_send(const MailSettings& settings, const std::string& recipient,
                     const std::string& message, const std::atomic<bool>* stop,
                     SmtpTimeouts timeouts) {
  global_init_once();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return {false, "curl_easy_init failed"};
  CURL* handle = curl.get();
  char error[CURL_ERROR_SIZE] = {0};
  Upload upload{&message};
  curl_slist* recipients = curl_slist_append(nullptr, recipient.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> recipients_owner(recipients,
                                                                               curl_slist_free_all);

  curl_easy_setopt(handle, CURLOPT_URL, settings.smtp_url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  if (settings.tls == SmtpTls::starttls) curl_easy_setopt(handle, CURLOPT_USE_SSL, CURLUSESSL_ALL);
  if (!settings.user.empty()) {
    curl_easy_setopt(handle, CURLOPT_USERNAME, settings.user.c_str());
    curl_easy_setopt(handle, CURLOPT_PASSWORD, settings.password.c_str());
  }
  std::string from = "<" + settings.from + ">";
  curl_easy_setopt(handle, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(handle, CURLOPT_MAIL_RCPT, recipients);
  curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(handle, CURLOPT_READFUNCTION, read_message);
  curl_easy_setopt(handle, CURLOPT_READDATA, &upload);
  curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  // The sender's own thread: no signals (curl's DNS timeout would use SIGALRM).
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeouts.connect.count()));
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(timeouts.transfer.count()));
  curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, check_stop);
  curl_easy_setopt(handle, CURLOPT_XFERINFODATA, stop);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);

  CURLcode code = curl_easy_perform(handle);
  if (code == CURLE_OK) return {true, {}};
  // The error buffer has the details (the server's reply, the address);
  // curl's generic reason only when it is empty.
  std::string_view reason = error[0] != '\0' ? error : curl_easy_strerror(code);
  return {false, std::string(common::trim_end(reason, "\r\n"))};
}

}  // namespace users
