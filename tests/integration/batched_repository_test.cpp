// The batched statements themselves, called with many keys at once: each
// key's answer lands with its own caller, whatever the batch holds. The
// repository runs on the event loops now, so every call here is made in a
// fiber on a LoopRunner's loop; the concurrent callers are many fibers on
// two loops at once (each loop has its own batch queues and connection).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "common/database.hpp"
#include "common/event_loop.hpp"
#include "common/loop_runner.hpp"
#include "service_fixture.hpp"
#include "sessions.hpp"
#include "user_repository.hpp"

namespace {

using fixture::ServiceTest;

// What the server's connections prepare: the users' and the sessions' statements.
std::vector<common::PreparedStatement> all_statements() {
  auto statements = users::UserRepository::statements();
  for (auto& statement : users::Sessions::statements()) statements.push_back(statement);
  return statements;
}

// A new session of the user, open or already ended; its id.
long long session_of(long long user_id, bool open = true) {
  return fixture::execute("INSERT INTO sessions (user_id, ended_at) VALUES (" +
                          std::to_string(user_id) + ", " + (open ? "NULL" : "now()") +
                          ") RETURNING id")[0][0]
      .as<long long>();
}

// Runs `each(fiber)` in `fibers` fibers started together on the runner's
// loop (after `before()`, on the loop), and returns once every one has ended.
void in_fibers(
    common::LoopRunner& runner, int fibers, const std::function<void(int)>& each,
    const std::function<void()>& before = [] {}) {
  runner.run([&] {
    before();
    auto& loop = *common::EventLoop::current();
    int ended = 0;
    common::Wait all;
    for (int f = 0; f < fibers; ++f) {
      loop.spawn([&, f] {
        try {
          each(f);
        } catch (const std::exception& error) {
          ADD_FAILURE() << "fiber " << f << " threw: " << error.what();
        }
        if (++ended == fibers) all.notify();
      });
    }
    all.wait();
  });
}

// The same on two loops at the same time, `each(loop, fiber)`: neither
// loop starts its fibers before the other is ready to.
void in_fibers_on_two_loops(common::LoopRunner& first, common::LoopRunner& second, int fibers,
                            const std::function<void(int, int)>& each) {
  std::mutex mutex;
  std::condition_variable arrived;
  int ready = 0;
  auto gate = [&] {
    std::unique_lock<std::mutex> lock(mutex);
    ++ready;
    arrived.notify_all();
    arrived.wait_for(lock, std::chrono::seconds(5), [&] { return ready == 2; });
  };
  std::thread other([&] {
    in_fibers(
        second, fibers, [&](int f) { each(1, f); }, gate);
  });
  in_fibers(
      first, fibers, [&](int f) { each(0, f); }, gate);
  other.join();
}

// Counts the callers inside a call at once (atomic: two loops count).
class Overlap {
 public:
  template <typename F>
  auto operator()(F&& call) -> decltype(call()) {
    int now = ++inside_;
    int seen = most_.load();
    while (now > seen && !most_.compare_exchange_weak(seen, now)) {
    }
    struct Leave {
      std::atomic<int>& inside;
      ~Leave() { --inside; }
    } leave{inside_};
    return call();
  }
  int most() const { return most_.load(); }

 private:
  std::atomic<int> inside_{0};
  std::atomic<int> most_{0};
};

class BatchedRepository : public ServiceTest {
 protected:
  common::Database database_{fixture::service().database_url, all_statements(), 1};
  common::LoopRunner runner_;
  users::UserRepository repository_{database_};
};

users::NewUser new_user(const std::string& username, const std::string& email) {
  return users::NewUser{username, email};
}

TEST_F(BatchedRepository, AddMany_FirstOfAnEmailWinsAndExistingEmailsAreRefused) {
  auto added = runner_.call([&] {
    repository_.add(new_user("old", "old@example.com"));
    return repository_.add_many({
        new_user("a", "a@example.com"),
        new_user("old again", "OLD@example.com"),
        new_user("b \"quoted\", {braced} \\ NULL", "b@example.com"),
        new_user("a again", "A@Example.com"),
        new_user("c", "c@example.com"),
        new_user("c again", "c@example.com"),
    });
  });
  ASSERT_EQ(added.size(), 6u);
  ASSERT_TRUE(added[0]);
  EXPECT_EQ(added[0]->username, "a");
  EXPECT_FALSE(added[1]);
  ASSERT_TRUE(added[2]);
  EXPECT_EQ(added[2]->username, "b \"quoted\", {braced} \\ NULL");
  EXPECT_EQ(added[2]->email, "b@example.com");
  EXPECT_FALSE(added[3]);
  ASSERT_TRUE(added[4]);
  EXPECT_EQ(added[4]->email, "c@example.com");
  EXPECT_FALSE(added[5]);
  EXPECT_EQ(user_count(), 4);
  auto stored =
      fixture::execute("SELECT username FROM users WHERE id = " + std::to_string(added[2]->id));
  EXPECT_EQ(stored[0][0].as<std::string>(), "b \"quoted\", {braced} \\ NULL");
}

TEST_F(BatchedRepository, AddMany_OfOne_UsesTheSingleRowStatementWithTheSameAnswers) {
  auto first = runner_.call([&] { return repository_.add_many({new_user("a", "a@example.com")}); });
  ASSERT_TRUE(first[0]);
  EXPECT_EQ(first[0]->username, "a");
  EXPECT_FALSE(
      runner_.call([&] { return repository_.add_many({new_user("b", "A@EXAMPLE.COM")}); })[0]);
  EXPECT_THROW(runner_.run([&] { repository_.add(new_user("c", "a@example.com")); }),
               users::DuplicateEmail);
}

TEST_F(BatchedRepository, FindMany_EachIdGetsItsRowOrNothing) {
  auto found = runner_.call([&] {
    for (int i = 1; i <= 5; ++i) {
      repository_.add(new_user("user" + std::to_string(i), std::to_string(i) + "@example.com"));
    }
    return repository_.find_many({3, 99, 1, 3, 5, 2147483647, 6});
  });
  ASSERT_EQ(found.size(), 7u);
  ASSERT_TRUE(found[0]);
  EXPECT_EQ(found[0]->username, "user3");
  EXPECT_FALSE(found[1]);
  ASSERT_TRUE(found[2]);
  EXPECT_EQ(found[2]->id, 1);
  ASSERT_TRUE(found[3]);
  EXPECT_EQ(found[3]->username, "user3");
  ASSERT_TRUE(found[4]);
  EXPECT_EQ(found[4]->email, "5@example.com");
  EXPECT_FALSE(found[5]);
  EXPECT_FALSE(found[6]);
}

TEST_F(BatchedRepository, ConcurrentAddsAndFinds_ManyFibersOnTwoLoops_EveryCallerAnswered) {
  constexpr int kFibers = 24;
  constexpr int kEmails = 20;
  common::LoopRunner second;
  Overlap overlap;
  std::atomic<int> added{0};
  std::atomic<int> duplicates{0};
  std::atomic<int> wrong{0};
  in_fibers_on_two_loops(runner_, second, kFibers, [&](int loop, int fiber) {
    for (int i = 0; i < kEmails; ++i) {
      std::string email = "u" + std::to_string(i) + "@example.com";  // shared by every fiber
      std::string username = "l" + std::to_string(loop) + "f" + std::to_string(fiber);
      try {
        auto user = overlap([&] { return repository_.add(new_user(username, email)); });
        added.fetch_add(1);
        if (user.email != email || user.username != username) wrong.fetch_add(1);
        auto again = overlap([&] { return repository_.find(user.id); });
        if (!again || again->email != email || again->username != username) wrong.fetch_add(1);
      } catch (const users::DuplicateEmail&) {
        duplicates.fetch_add(1);
      }
    }
  });
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(added.load(), kEmails);  // each email added once, by whichever caller came first
  EXPECT_EQ(duplicates.load(), 2 * kFibers * kEmails - kEmails);
  EXPECT_EQ(user_count(), kEmails);
  EXPECT_GT(overlap.most(), kFibers) << "the callers of both loops overlapped";
}

// Two batches holding the same new emails in opposite orders: in the
// callers' order each took one entry of the unique index and waited for the
// other's (PostgreSQL's "deadlock detected", a 500 to every caller of both).
TEST_F(BatchedRepository, AddMany_SameEmailsInOppositeOrdersOnTwoLoops_NeverDeadlock) {
  constexpr int kFibers = 64;  // a whole batch
  constexpr int kRounds = 40;
  common::LoopRunner second;
  std::atomic<int> added{0};
  std::atomic<int> duplicates{0};
  for (int round = 0; round < kRounds; ++round) {
    in_fibers_on_two_loops(runner_, second, kFibers, [&](int loop, int fiber) {
      int key = loop == 0 ? fiber : kFibers - 1 - fiber;
      std::string email = "r" + std::to_string(round) + "k" + std::to_string(key) + "@example.com";
      try {
        repository_.add(new_user("l" + std::to_string(loop), email));
        added.fetch_add(1);
      } catch (const users::DuplicateEmail&) {
        duplicates.fetch_add(1);
      }
    });
  }
  EXPECT_EQ(added.load(), kRounds * kFibers);
  EXPECT_EQ(duplicates.load(), kRounds * kFibers);
  EXPECT_EQ(user_count(), kRounds * kFibers);
}

TEST_F(BatchedRepository, FindAccountsMany_EachKeyGetsItsAccountAndItsSessionOrNothing) {
  auto plain =
      runner_.call([&] { return repository_.add(new_user("plain", "plain@example.com")); });
  runner_.call(
      [&] { repository_.save_admin(new_user("boss", "boss@example.com"), "$argon2id$stand-in"); });
  auto boss = runner_.call([&] { return repository_.find_account_by_email("boss@example.com"); });
  ASSERT_TRUE(boss);
  long long boss_open = session_of(boss->user.id);
  long long plain_ended = session_of(plain.id, false);
  long long plain_open = session_of(plain.id);
  using users::SessionKey;
  auto found = runner_.call([&] {
    return repository_.find_accounts_many({{boss->user.id, boss_open},
                                           {999, boss_open},
                                           {plain.id, plain_ended},
                                           {boss->user.id, boss_open},
                                           {boss->user.id, plain_open},
                                           {plain.id, plain_open}});
  });
  ASSERT_EQ(found.size(), 6u);
  ASSERT_TRUE(found[0]);
  EXPECT_TRUE(found[0]->admin);
  EXPECT_EQ(found[0]->password_hash, "$argon2id$stand-in");
  EXPECT_TRUE(found[0]->session_open);
  EXPECT_FALSE(found[1]);
  ASSERT_TRUE(found[2]);
  EXPECT_EQ(found[2]->user.email, "plain@example.com");
  EXPECT_FALSE(found[2]->admin);
  EXPECT_FALSE(found[2]->password_hash);
  EXPECT_FALSE(found[2]->session_open) << "ended";
  ASSERT_TRUE(found[3]);  // the same key twice: both callers answered
  EXPECT_EQ(found[3]->user.username, "boss");
  EXPECT_TRUE(found[3]->session_open);
  ASSERT_TRUE(found[4]);
  EXPECT_FALSE(found[4]->session_open) << "another user's session opens nothing";
  ASSERT_TRUE(found[5]);
  EXPECT_TRUE(found[5]->session_open);
  auto alone = runner_.call([&] {
    return repository_.find_accounts_many({{plain.id, plain_ended}});
  });
  ASSERT_TRUE(alone[0]);
  EXPECT_EQ(alone[0]->user.id, plain.id);
  EXPECT_FALSE(alone[0]->session_open);
  alone = runner_.call([&] { return repository_.find_accounts_many({{plain.id, plain_open}}); });
  ASSERT_TRUE(alone[0]);
  EXPECT_TRUE(alone[0]->session_open);
}

TEST_F(BatchedRepository, ConcurrentAccountLookups_EveryCallerGetsItsOwnSession) {
  auto ids = runner_.call([&] {
    std::vector<long long> added;
    for (int i = 0; i < 10; ++i) {
      added.push_back(
          repository_.add(new_user("u" + std::to_string(i), std::to_string(i) + "@x.io")).id);
    }
    return added;
  });
  std::vector<long long> sessions;
  for (int i = 0; i < 10; ++i) sessions.push_back(session_of(ids[i], i % 2 == 0));
  // Marked long ago: every lookup's statement also tries to mark them used.
  fixture::execute("UPDATE sessions SET last_used_at = now() - interval '1 hour'");
  common::LoopRunner second;
  Overlap overlap;
  std::atomic<int> answered{0};
  std::atomic<int> wrong{0};
  in_fibers_on_two_loops(runner_, second, 24, [&](int loop, int fiber) {
    for (int n = 0; n < 40; ++n) {
      auto i = static_cast<std::size_t>((fiber + n + loop * 5) % 10);
      auto account = overlap([&] { return repository_.find_account(ids[i], sessions[i]); });
      if (!account || account->user.username != "u" + std::to_string(i) ||
          account->session_open != (i % 2 == 0)) {
        wrong.fetch_add(1);
      }
      answered.fetch_add(1);
    }
  });
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(answered.load(), 2 * 24 * 40);
  EXPECT_GT(overlap.most(), 24) << "the callers of both loops overlapped";
  EXPECT_EQ(fixture::execute("SELECT count(*) FROM sessions WHERE ended_at IS NULL"
                             " AND last_used_at < now() - interval '1 minute'")[0][0]
                .as<int>(),
            0)
      << "every open session was marked used";
}

// Ids of a page, to compare pages at a glance.
std::vector<long long> ids_of(const users::UserRows& page) {
  std::vector<long long> ids;
  for (int i = 0; i < page.size(); ++i) ids.push_back(page.id(i));
  return ids;
}

std::vector<long long> range(long long first, long long last, long long step = 1) {
  std::vector<long long> ids;
  for (long long id = first; step > 0 ? id <= last : id >= last; id += step) ids.push_back(id);
  return ids;
}

class BatchedPages : public BatchedRepository {
 protected:
  void SetUp() override {
    BatchedRepository::SetUp();
    fixture::execute(
        "INSERT INTO users (username, email) SELECT 'user' || g, g || '@example.com'"
        " FROM generate_series(1, 30) g");
  }
};

TEST_F(BatchedPages, PagesAfter_EachKeyGetsItsOwnRangeInIdOrder) {
  auto pages = runner_.call([&] {
    return repository_.pages_many(
        false, {{0, 3}, {10, 5}, {28, 10}, {30, 5}, {0, 3}, {-5, 1}, {9223372036854775807, 2}});
  });
  ASSERT_EQ(pages.size(), 7u);
  EXPECT_EQ(ids_of(pages[0]), range(1, 3));
  EXPECT_EQ(ids_of(pages[1]), range(11, 15));
  EXPECT_EQ(ids_of(pages[2]), range(29, 30));  // the end of the table: a short page
  EXPECT_TRUE(pages[3].empty());               // past the end
  EXPECT_EQ(ids_of(pages[4]), range(1, 3));    // the same key twice: the same page
  EXPECT_EQ(ids_of(pages[5]), range(1, 1));
  EXPECT_TRUE(pages[6].empty());
  ASSERT_FALSE(pages[1].empty());
  EXPECT_EQ(pages[1].username(0), "user11");
  EXPECT_EQ(pages[1].email(0), "11@example.com");
}

TEST_F(BatchedPages, NewestFirst_EachKeyGetsTheUsersBeforeItNewestFirst) {
  auto pages = runner_.call([&] {
    return repository_.pages_many(
        true, {{9223372036854775807, 4}, {10, 3}, {3, 50}, {1, 5}, {9223372036854775807, 4}});
  });
  ASSERT_EQ(pages.size(), 5u);
  EXPECT_EQ(ids_of(pages[0]), range(30, 27, -1));
  EXPECT_EQ(ids_of(pages[1]), range(9, 7, -1));
  EXPECT_EQ(ids_of(pages[2]), range(2, 1, -1));
  EXPECT_TRUE(pages[3].empty());
  EXPECT_EQ(ids_of(pages[4]), range(30, 27, -1));
}

TEST_F(BatchedPages, OnePage_TheSingleStatementGivesTheSameRows) {
  auto batched = runner_.call([&] { return repository_.pages_many(false, {{5, 4}, {20, 4}}); });
  auto alone = runner_.call([&] { return repository_.pages_many(false, {{5, 4}}); });
  ASSERT_EQ(alone.size(), 1u);
  ASSERT_EQ(batched.size(), 2u);
  EXPECT_EQ(ids_of(alone[0]), ids_of(batched[0]));
  ASSERT_FALSE(alone[0].empty());
  EXPECT_EQ(alone[0].created_at(0), batched[0].created_at(0));
  EXPECT_EQ(ids_of(runner_.call([&] {
              return repository_.pages_many(true, {{5, 2}});
            })[0]),
            range(4, 3, -1));
}

TEST_F(BatchedPages, ConcurrentPages_ManyFibersOnTwoLoops_EveryCallerGetsItsOwnPage) {
  constexpr int kFibers = 24;
  constexpr int kCalls = 30;
  common::LoopRunner second;
  Overlap overlap;
  std::atomic<int> answered{0};
  std::atomic<int> wrong{0};
  in_fibers_on_two_loops(runner_, second, kFibers, [&](int loop, int fiber) {
    for (int i = 0; i < kCalls; ++i) {
      long long from = (fiber + i + loop * 11) % 31;
      int limit = 1 + (fiber * 7 + i) % 6;
      auto after = overlap([&] { return repository_.page_after(from, limit); });
      if (ids_of(after) != range(from + 1, std::min<long long>(from + limit, 30))) {
        wrong.fetch_add(1);
      }
      auto newest = overlap([&] { return repository_.newest_before(from + 1, limit); });
      if (ids_of(newest) != range(from, std::max<long long>(from - limit + 1, 1), -1)) {
        wrong.fetch_add(1);
      }
      answered.fetch_add(1);
    }
  });
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(answered.load(), 2 * kFibers * kCalls);
  EXPECT_GT(overlap.most(), kFibers) << "the callers of both loops overlapped";
}

}  // namespace
