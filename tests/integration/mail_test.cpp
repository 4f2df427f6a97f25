// The mail outbox end to end: the real users-service (its sender thread),
// a real PostgreSQL and a real SMTP server (aiosmtpd writing a Maildir that
// the tests read). Mail is queued the way the flows queue it: a row written
// through MailOutbox in a transaction of its own.
#include <netinet/in.h>
#include <sys/socket.h>

#include <regex>
#include <set>

#include "binaries_fixture.hpp"
#include "mail_outbox.hpp"
#include "mail_templates.hpp"
#include "support/free_port.hpp"
#include "support/http_client.hpp"
#include "support/smtp_sink.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class Mail : public ::testing::Test {
 protected:
  void SetUp() override {
    auto recreated = binaries::recreate_db();
    ASSERT_EQ(recreated.exit_code, 0) << recreated.output;
    sink_ = std::make_unique<support::SmtpSink>();
  }

  std::vector<std::string> service_env(int port, const std::string& smtp_url,
                                       const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> env{"APP_ENV=testing",
                                 "DATABASE_TEST_URL=" + binaries::database_url(),
                                 "HOST=127.0.0.1",
                                 "PORT=" + std::to_string(port),
                                 "THREADS=1",
                                 "LOG_LEVEL=warn",
                                 "SMTP_URL=" + smtp_url,
                                 "MAIL_FROM=users@example.com",
                                 "PUBLIC_BASE_URL=http://127.0.0.1:" + std::to_string(port)};
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
  }

  // Starts a users-service and waits for /health/ready; its port in `port`.
  std::unique_ptr<binaries::Child> start_service(int& port, const std::string& smtp_url,
                                                 const std::vector<std::string>& extra = {}) {
    port = support::free_port();
    auto child =
        std::make_unique<binaries::Child>(USERS_SERVICE_PATH, service_env(port, smtp_url, extra));
    auto deadline = Clock::now() + 15s;
    while (Clock::now() < deadline) {
      try {
        if (support::http_request(port, "GET", "/health/ready").status == 200) return child;
      } catch (const std::exception&) {
        if (child->wait_exit(10ms)) {
          ADD_FAILURE() << "users-service exited at start-up";
          return child;
        }
      }
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "users-service was not ready within 15 s";
    return child;
  }

  // Queues `count` test mails in one transaction; their Message-IDs.
  static std::vector<std::string> queue(int count) {
    pqxx::connection connection(binaries::database_url());
    pqxx::work work(connection);
    std::vector<long long> ids;
    for (int i = 0; i < count; ++i) {
      std::string to = "person" + std::to_string(i) + "@example.com";
      auto mail = users::render_mail("test_mail", {{"recipient", to}, {"base_url", "http://x"}});
      ids.push_back(users::MailOutbox::enqueue(work, to, "test_mail", mail, "example.com"));
    }
    work.commit();
    std::vector<std::string> message_ids;
    for (long long id : ids) {
      message_ids.push_back(binaries::execute("SELECT message_id FROM mail_outbox WHERE id = " +
                                              std::to_string(id))[0][0]
                                .as<std::string>());
    }
    return message_ids;
  }

  static long long scalar(const std::string& sql) {
    auto result = binaries::execute(sql);
    return result[0][0].is_null() ? -1 : result[0][0].as<long long>();
  }

  // Waits up to `limit` for `sql` (one integer) to reach at least `at_least`.
  static bool wait_until(const std::string& sql, long long at_least, std::chrono::seconds limit) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (scalar(sql) >= at_least) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  // A metric's value from /metrics; -1 when absent.
  static long long metric(int port, const std::string& name) {
    auto body = support::http_request(port, "GET", "/metrics").body;
    std::smatch match;
    if (!std::regex_search(body, match, std::regex("\n" + name + " ([0-9]+)\n"))) return -1;
    return std::stoll(match[1]);
  }

  std::unique_ptr<support::SmtpSink> sink_;
};

TEST_F(Mail, QueuedMail_ArrivesOnceWithBothPartsAndItsMessageId) {
  int port = 0;
  auto service = start_service(port, sink_->url());
  auto message_ids = queue(1);

  auto got = sink_->wait_for(1, 15s);
  ASSERT_EQ(got.size(), 1u) << "the mail did not arrive within 15 s";
  const auto& message = got[0];
  EXPECT_EQ(support::mail_header(message, "Message-ID"), message_ids[0]);
  EXPECT_EQ(support::mail_header(message, "To"), "person0@example.com");
  EXPECT_EQ(support::mail_header(message, "X-RcptTo"), "person0@example.com");
  EXPECT_EQ(support::mail_header(message, "From"), "users@example.com");
  EXPECT_EQ(support::mail_header(message, "Subject"), "Test mail from users-service");
  EXPECT_NE(support::mail_header(message, "Content-Type").find("multipart/alternative"),
            std::string::npos);
  auto text_at = message.find("Content-Type: text/plain; charset=utf-8");
  auto html_at = message.find("Content-Type: text/html; charset=utf-8");
  ASSERT_NE(text_at, std::string::npos);
  ASSERT_NE(html_at, std::string::npos);
  EXPECT_LT(text_at, html_at) << "the text part comes first, the richer HTML part last";
  EXPECT_NE(message.find("It was sent to person0@example.com"), std::string::npos);
  EXPECT_NE(message.find("<a href=\"http://x\">"), std::string::npos);

  EXPECT_TRUE(wait_until("SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL", 1, 5s));
  EXPECT_EQ(metric(port, "mails_sent_total"), 1);
  EXPECT_EQ(metric(port, "mail_outbox_pending"), 0);
  std::this_thread::sleep_for(1500ms);  // a few idle polls: nothing is sent again
  EXPECT_EQ(sink_->messages().size(), 1u);
}

TEST_F(Mail, SinkDownTenSeconds_DeliveredOnceAfterRetry) {
  sink_->stop();
  int port = 0;
  auto service = start_service(port, sink_->url());
  auto down_since = Clock::now();
  auto message_ids = queue(1);
  ASSERT_TRUE(wait_until("SELECT attempts FROM mail_outbox", 1, 10s)) << "no attempt was made";
  EXPECT_EQ(metric(port, "mail_outbox_pending"), 1);
  EXPECT_GE(metric(port, "mails_retried_total"), 1);
  std::this_thread::sleep_until(down_since + 10s);
  EXPECT_GE(scalar("SELECT attempts FROM mail_outbox"), 3) << "backoff starts at 1 s, doubling";
  sink_->start();

  // Down 10 s: the attempts at 0, 1, 3 and 7 s failed; the one at 15 s gets through.
  auto got = sink_->wait_for(1, 30s);
  ASSERT_EQ(got.size(), 1u) << "not delivered within 30 s of the sink coming back";
  EXPECT_EQ(support::mail_header(got[0], "Message-ID"), message_ids[0]);
  EXPECT_TRUE(wait_until("SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL", 1, 5s));
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(sink_->messages().size(), 1u) << "delivered more than once";
  EXPECT_EQ(metric(port, "mails_sent_total"), 1);
  EXPECT_EQ(metric(port, "mails_failed_total"), 0);
  EXPECT_EQ(metric(port, "mail_outbox_pending"), 0);
}

TEST_F(Mail, TwoReplicasOnOneOutbox_EachMailSentOnce) {
  int port_a = 0;
  int port_b = 0;
  auto a = start_service(port_a, sink_->url());
  auto b = start_service(port_b, sink_->url());
  auto message_ids = queue(40);

  auto got = sink_->wait_for(40, 60s);
  ASSERT_EQ(got.size(), 40u);
  EXPECT_TRUE(wait_until("SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL", 40, 5s));
  std::this_thread::sleep_for(1500ms);
  got = sink_->messages();
  EXPECT_EQ(got.size(), 40u) << "some mail was sent twice";
  std::multiset<std::string> arrived;
  for (const auto& message : got) arrived.insert(support::mail_header(message, "Message-ID"));
  EXPECT_EQ(arrived, std::multiset<std::string>(message_ids.begin(), message_ids.end()));
  long long sent_a = metric(port_a, "mails_sent_total");
  long long sent_b = metric(port_b, "mails_sent_total");
  EXPECT_EQ(sent_a + sent_b, 40);
  std::cout << "replica a sent " << sent_a << ", replica b sent " << sent_b << "\n";
}

TEST_F(Mail, ServiceSigkilledAfterQueuing_MailGoesOutAfterRestart) {
  sink_->stop();
  int port = 0;
  auto service = start_service(port, sink_->url());
  auto message_ids = queue(1);
  ASSERT_TRUE(wait_until("SELECT attempts FROM mail_outbox", 1, 10s));
  ASSERT_TRUE(service->signal(SIGKILL));
  ASSERT_TRUE(service->wait_exit(5s).has_value());
  sink_->start();
  EXPECT_EQ(sink_->messages().size(), 0u);

  auto restarted = start_service(port, sink_->url());
  auto got = sink_->wait_for(1, 20s);
  ASSERT_EQ(got.size(), 1u) << "the queued mail did not go out after the restart";
  EXPECT_EQ(support::mail_header(got[0], "Message-ID"), message_ids[0]);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(sink_->messages().size(), 1u);
}

TEST_F(Mail, RetryHoursOver_MarkedFailedCountedAndNeverSent) {
  sink_->stop();
  int port = 0;
  // 0.001 h = 3.6 s of retries.
  auto service = start_service(port, sink_->url(), {"MAIL_RETRY_HOURS=0.001"});
  queue(1);
  ASSERT_TRUE(wait_until("SELECT count(*) FROM mail_outbox WHERE failed_at IS NOT NULL", 1, 20s))
      << "not marked failed within 20 s";
  EXPECT_GE(scalar("SELECT attempts FROM mail_outbox"), 3);
  EXPECT_EQ(scalar("SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL"), 0);
  EXPECT_GT(scalar("SELECT length(last_error) FROM mail_outbox"), 0);
  EXPECT_EQ(metric(port, "mails_failed_total"), 1);
  EXPECT_EQ(metric(port, "mail_outbox_pending"), 0);
  sink_->start();
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(sink_->messages().size(), 0u) << "a failed mail was sent after all";
}

TEST_F(Mail, NoSmtpUrl_MailOff_NothingSentAndSaidOnceAtStartUp) {
  queue(1);
  int port = support::free_port();
  auto result =
      binaries::run("env -i APP_ENV=testing DATABASE_TEST_URL='" + binaries::database_url() +
                    "' HOST=127.0.0.1 PORT=" + std::to_string(port) +
                    " THREADS=1 LOG_LEVEL=info timeout -s TERM 3 " USERS_SERVICE_PATH);
  std::size_t said = 0;
  for (auto at = result.output.find("mail is off"); at != std::string::npos;
       at = result.output.find("mail is off", at + 1)) {
    ++said;
  }
  EXPECT_EQ(said, 1u) << result.output;
  EXPECT_EQ(sink_->messages().size(), 0u);
  EXPECT_EQ(scalar("SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL AND attempts = 0"), 1);
}

TEST_F(Mail, GivenUpMail_LoggedByIdAndMessageId_NeverItsRecipientOrBody) {
  auto message_ids = queue(1);
  sink_->stop();
  int port = support::free_port();
  // 0.0005 h = 1.8 s of retries, then the error line; the service stops after 8 s.
  auto result =
      binaries::run("env -i APP_ENV=testing DATABASE_TEST_URL='" + binaries::database_url() +
                    "' HOST=127.0.0.1 PORT=" + std::to_string(port) +
                    " THREADS=1 LOG_LEVEL=info SMTP_URL=" + sink_->url() +
                    " MAIL_FROM=users@example.com PUBLIC_BASE_URL=http://x MAIL_RETRY_HOURS=0.0005"
                    " timeout -s TERM 8 " USERS_SERVICE_PATH);
  EXPECT_NE(result.output.find("given up"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(message_ids[0]), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("person0@example.com"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("check the mail settings"), std::string::npos) << result.output;
}

TEST_F(Mail, BadMailSettings_OneLineErrorExit2) {
  std::string base = "env -i APP_ENV=testing DATABASE_TEST_URL='" + binaries::database_url() +
                     "' HOST=127.0.0.1 PORT=0 ";
  auto no_base_url = binaries::run(base + "SMTP_URL=" + sink_->url() +
                                   " MAIL_FROM=users@example.com " USERS_SERVICE_PATH);
  EXPECT_EQ(no_base_url.exit_code, 2);
  EXPECT_NE(no_base_url.output.find("configuration error: PUBLIC_BASE_URL is required"),
            std::string::npos)
      << no_base_url.output;
  auto bad_scheme = binaries::run(base + "SMTP_URL=http://127.0.0.1:25 " USERS_SERVICE_PATH);
  EXPECT_EQ(bad_scheme.exit_code, 2);
  EXPECT_NE(bad_scheme.output.find("SMTP_URL must start with smtp:// or smtps://"),
            std::string::npos)
      << bad_scheme.output;
}

TEST_F(Mail, SigtermWhileSmtpServerHangs_ExitsZeroPromptly) {
  // A server that completes the TCP handshake (the kernel does) and never
  // says a word: the transfer would wait for its timeout (60 s).
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 16), 0);
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::string url = "smtp://127.0.0.1:" + std::to_string(ntohs(address.sin_port));

  int port = 0;
  auto service = start_service(port, url);
  queue(1);
  std::this_thread::sleep_for(2s);  // the sender is now waiting for a greeting
  auto signalled = Clock::now();
  ASSERT_TRUE(service->signal(SIGTERM));
  auto status = service->wait_exit(10s);
  ::close(listener);
  ASSERT_TRUE(status.has_value()) << "still running 10 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_LT(Clock::now() - signalled, 5s);
  // The aborted attempt is not counted: the row is as it was.
  EXPECT_EQ(scalar("SELECT attempts FROM mail_outbox"), 0);
}

TEST_F(Mail, ManageSendTestMail_SinkUp0AndArrives_SinkDown1) {
  std::string command = "env -i SMTP_URL=" + sink_->url() +
                        " MAIL_FROM=users@example.com PUBLIC_BASE_URL=http://127.0.0.1 " MANAGE_PATH
                        " send_test_mail --to someone@example.com";
  auto sent = binaries::run(command);
  EXPECT_EQ(sent.exit_code, 0) << sent.output;
  auto got = sink_->wait_for(1, 5s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(support::mail_header(got[0], "X-RcptTo"), "someone@example.com");
  EXPECT_NE(sent.output.find(support::mail_header(got[0], "Message-ID")), std::string::npos);

  sink_->stop();
  auto refused = binaries::run(command);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("failed"), std::string::npos) << refused.output;

  auto off = binaries::run("env -i " MANAGE_PATH " send_test_mail --to someone@example.com");
  EXPECT_EQ(off.exit_code, 1);
  EXPECT_NE(off.output.find("mail is off"), std::string::npos) << off.output;
}

}  // namespace
