// Many clients at once: the database's unique index decides duplicates, and
// nothing is lost when every request arrives together.
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "service_fixture.hpp"

namespace {

using fixture::ServiceTest;
using Concurrency = ServiceTest;

// Releases every waiting thread at once, when the last one arrives.
class Gate {
 public:
  explicit Gate(int count) : remaining_(count) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (--remaining_ == 0) {
      open_.notify_all();
      return;
    }
    open_.wait(lock, [this] { return remaining_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable open_;
  int remaining_;
};

// The "message" of a JSON body; "" when the body is not a JSON object.
std::string message_of(const support::HttpResponse& response) {
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  return body.is_object() ? body.value("message", "") : "";
}

// Sends one POST `path` per body, each from its own thread on its own
// already-open connection, all released together; returns the responses in
// order (status 0 when the exchange itself failed, with the error as body).
std::vector<support::HttpResponse> post_all_at_once(const std::vector<std::string>& bodies,
                                                    const std::string& path = "/users") {
  const int count = static_cast<int>(bodies.size());
  std::vector<std::unique_ptr<support::HttpConnection>> connections;
  for (int i = 0; i < count; ++i) {
    connections.push_back(
        std::make_unique<support::HttpConnection>("127.0.0.1", fixture::service().app->port()));
  }
  std::vector<support::HttpResponse> responses(bodies.size());
  Gate gate(count);
  std::vector<std::thread> threads;
  for (int i = 0; i < count; ++i) {
    threads.emplace_back([&, i] {
      gate.arrive_and_wait();
      try {
        responses[i] = connections[i]->request("POST", path, bodies[i],
                                               {{"Content-Type", "application/json"}});
      } catch (const std::exception& error) {
        responses[i].body = error.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  return responses;
}

// 32 clients send one body to `path` at once: exactly one 201 with
// `created_message`, every other a 400 with `duplicate_message`.
void expect_exactly_one_created(const std::string& path, const std::string& body,
                                const std::string& created_message,
                                const std::string& duplicate_message) {
  constexpr int kClients = 32;
  auto responses = post_all_at_once(std::vector<std::string>(kClients, body), path);
  int created = 0;
  int duplicates = 0;
  for (const auto& response : responses) {
    if (response.status == 201) {
      ++created;
      EXPECT_EQ(message_of(response), created_message);
    } else if (response.status == 400 && message_of(response) == duplicate_message) {
      ++duplicates;
    } else {
      ADD_FAILURE() << "unexpected answer: " << response.status << " " << response.body;
    }
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(duplicates, kClients - 1);
}

TEST_F(Concurrency, PostUsers_32ClientsSameEmailAtOnce_ExactlyOneCreated) {
  expect_exactly_one_created("/users", R"({"username":"racer","email":"race@example.com"})",
                             "race@example.com was added!", "Sorry. That email already exists.");
  EXPECT_EQ(user_count(), 1);
}

TEST_F(Concurrency, AuthRegister_32ClientsSameEmailAtOnce_ExactlyOneRegistered) {
  expect_exactly_one_created(
      "/auth/register",
      R"({"username":"racer","email":"race@example.com","password":"racing-password"})",
      "Successfully registered.", "Sorry. That user already exists.");
  EXPECT_EQ(user_count(), 1);
}

TEST_F(Concurrency, PostUsers_200DistinctEmailsAtOnce_AllCreatedNothingLost) {
  constexpr int kClients = 200;
  std::vector<std::string> bodies;
  for (int i = 0; i < kClients; ++i) {
    bodies.push_back(nlohmann::json{{"username", "user" + std::to_string(i)},
                                    {"email", "user" + std::to_string(i) + "@example.com"}}
                         .dump());
  }
  auto responses = post_all_at_once(bodies);
  int created = 0;
  for (int i = 0; i < kClients; ++i) {
    if (responses[i].status == 201) {
      ++created;
    } else {
      ADD_FAILURE() << "client " << i << ": " << responses[i].status << " " << responses[i].body;
    }
  }
  EXPECT_EQ(created, kClients);
  EXPECT_EQ(user_count(), kClients);
  std::set<std::string> emails;
  for (const auto& row : fixture::execute("SELECT email FROM users")) {
    emails.insert(row[0].as<std::string>());
  }
  EXPECT_EQ(emails.size(), static_cast<std::size_t>(kClients));
  EXPECT_EQ(get("/users").json()["data"]["users"].size(), static_cast<std::size_t>(kClients));
}

// Group commit: a burst where each email comes several times (in different
// case) and one email exists already. Every email is created exactly once;
// every other post of it hears the duplicate answer.
TEST_F(Concurrency, PostUsers_BurstWithDuplicatesMixedIn_EachEmailCreatedExactlyOnce) {
  ASSERT_EQ(add_user("old", "old@example.com").status, 201);
  constexpr int kEmails = 40;
  constexpr int kCopies = 3;
  std::vector<std::string> bodies;
  std::vector<std::string> emails;  // lower-case, per body
  for (int copy = 0; copy < kCopies; ++copy) {
    for (int i = 0; i < kEmails; ++i) {
      std::string email = "burst" + std::to_string(i) + "@example.com";
      std::string sent = email;
      if (copy == 1) sent[0] = 'B';  // the index is on lower(email)
      bodies.push_back(
          nlohmann::json{{"username", "u" + std::to_string(copy)}, {"email", sent}}.dump());
      emails.push_back(email);
    }
    bodies.push_back(R"({"username":"again","email":"OLD@example.com"})");
    emails.push_back("old@example.com");
  }
  auto responses = post_all_at_once(bodies);
  std::map<std::string, int> created;
  for (std::size_t i = 0; i < responses.size(); ++i) {
    const auto& response = responses[i];
    if (response.status == 201) {
      ++created[emails[i]];
      auto sent = nlohmann::json::parse(bodies[i])["email"].get<std::string>();
      EXPECT_EQ(message_of(response), sent + " was added!");
    } else if (response.status != 400 ||
               message_of(response) != "Sorry. That email already exists.") {
      ADD_FAILURE() << "body " << i << ": " << response.status << " " << response.body;
    }
  }
  EXPECT_EQ(created.count("old@example.com"), 0u);
  EXPECT_EQ(created.size(), static_cast<std::size_t>(kEmails));
  for (const auto& [email, times] : created) EXPECT_EQ(times, 1) << email;
  EXPECT_EQ(user_count(), kEmails + 1);
  // Each 201 is visible: the user it announced is stored with that email.
  EXPECT_EQ(fixture::execute("SELECT count(DISTINCT lower(email)) FROM users")[0][0].as<int>(),
            kEmails + 1);
}

// MAX_CONNECTIONS: with the limit's connections open, one more is closed at
// once (the client hears now instead of waiting in the backlog), the open ones
// are still served, and a new one is taken again once one of them closes.
TEST(MaxConnections, OneMoreIsClosedAtOnce_TheOpenOnesServed_TakenAgainAfterAClose) {
  auto app = users::create_app(
      fixture::testing_config(fixture::service().database_url, {{"MAX_CONNECTIONS", "2"}}));
  app->start();
  int port = app->port();
  auto first = std::make_unique<support::HttpConnection>("127.0.0.1", port);
  support::HttpConnection second("127.0.0.1", port);
  EXPECT_EQ(first->request("GET", "/ping").status, 200);
  EXPECT_EQ(second.request("GET", "/ping").status, 200);

  support::HttpConnection refused("127.0.0.1", port);
  EXPECT_TRUE(refused.is_closed_by_peer(std::chrono::seconds(2)));
  EXPECT_EQ(second.request("GET", "/ping").status, 200);

  first.reset();
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    try {
      served = support::http_request(port, "GET", "/ping").status == 200;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(served) << "no new connection taken after one of the two closed";
}

}  // namespace
