// The batched statements themselves, called with many keys at once: each
// key's answer lands with its own caller, whatever the batch holds.
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "revoked_tokens.hpp"
#include "service_fixture.hpp"
#include "user_repository.hpp"

namespace {

using fixture::ServiceTest;

class BatchedRepository : public ServiceTest {
 protected:
  common::DbPool pool_{fixture::service().database_url, 2, [](pqxx::connection& connection) {
                         users::UserRepository::prepare(connection);
                         users::RevokedTokens::prepare(connection);
                       }};
  users::UserRepository repository_{pool_};
};

users::NewUser new_user(const std::string& username, const std::string& email) {
  return users::NewUser{username, email};
}

TEST_F(BatchedRepository, AddMany_FirstOfAnEmailWinsAndExistingEmailsAreRefused) {
  repository_.add(new_user("old", "old@example.com"));
  auto added = repository_.add_many({
      new_user("a", "a@example.com"),
      new_user("old again", "OLD@example.com"),
      new_user("b \"quoted\", {braced} \\ NULL", "b@example.com"),
      new_user("a again", "A@Example.com"),
      new_user("c", "c@example.com"),
      new_user("c again", "c@example.com"),
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
  EXPECT_LT(added[0]->id, added[2]->id);  // inserted in the callers' order
  EXPECT_LT(added[2]->id, added[4]->id);
  EXPECT_EQ(user_count(), 4);
  auto stored =
      fixture::execute("SELECT username FROM users WHERE id = " + std::to_string(added[2]->id));
  EXPECT_EQ(stored[0][0].as<std::string>(), "b \"quoted\", {braced} \\ NULL");
}

TEST_F(BatchedRepository, AddMany_OfOne_UsesTheSingleRowStatementWithTheSameAnswers) {
  auto first = repository_.add_many({new_user("a", "a@example.com")});
  ASSERT_TRUE(first[0]);
  EXPECT_EQ(first[0]->username, "a");
  EXPECT_FALSE(repository_.add_many({new_user("b", "A@EXAMPLE.COM")})[0]);
  EXPECT_THROW(repository_.add(new_user("c", "a@example.com")), users::DuplicateEmail);
}

TEST_F(BatchedRepository, FindMany_EachIdGetsItsRowOrNothing) {
  for (int i = 1; i <= 5; ++i) {
    repository_.add(new_user("user" + std::to_string(i), std::to_string(i) + "@example.com"));
  }
  auto found = repository_.find_many({3, 99, 1, 3, 5, 2147483647, 6});
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

TEST_F(BatchedRepository, ConcurrentAddsAndFinds_OnAPoolOfTwo_EveryCallerAnswered) {
  constexpr int kThreads = 24;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string email = "u" + std::to_string(i) + "@example.com";  // shared by threads
        try {
          auto user = repository_.add(new_user("t" + std::to_string(t), email));
          auto again = repository_.find(user.id);
          if (!again || again->email != email) wrong.fetch_add(1);
        } catch (const users::DuplicateEmail&) {
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(user_count(), 20);
}

TEST_F(BatchedRepository, FindAccountsMany_EachIdGetsItsAccountOrNothing) {
  auto plain = repository_.add(new_user("plain", "plain@example.com"));
  repository_.save_admin(new_user("boss", "boss@example.com"), "$argon2id$stand-in");
  auto boss = repository_.find_account_by_email("boss@example.com");
  ASSERT_TRUE(boss);
  auto found = repository_.find_accounts_many({boss->user.id, 999, plain.id, boss->user.id});
  ASSERT_EQ(found.size(), 4u);
  ASSERT_TRUE(found[0]);
  EXPECT_TRUE(found[0]->admin);
  EXPECT_EQ(found[0]->password_hash, "$argon2id$stand-in");
  EXPECT_FALSE(found[1]);
  ASSERT_TRUE(found[2]);
  EXPECT_EQ(found[2]->user.email, "plain@example.com");
  EXPECT_FALSE(found[2]->admin);
  EXPECT_FALSE(found[2]->password_hash);
  ASSERT_TRUE(found[3]);  // the same id twice: both callers answered
  EXPECT_EQ(found[3]->user.username, "boss");
  auto alone = repository_.find_accounts_many({plain.id});
  ASSERT_TRUE(alone[0]);
  EXPECT_EQ(alone[0]->user.id, plain.id);
}

TEST_F(BatchedRepository, RevokedMany_OnlyRevokedIdsAreTrueWhateverTheirText) {
  users::RevokedTokens revoked(pool_);
  const std::string odd = "a \"quoted\", {braced} \\ NULL";
  revoked.revoke("gone-1", 4102444800);
  revoked.revoke(odd, 4102444800);
  auto answers = revoked.revoked_many({"kept", "gone-1", odd, "NULL", "gone-1", ""});
  EXPECT_EQ(answers, (std::vector<bool>{false, true, true, false, true, false}));
  EXPECT_EQ(revoked.revoked_many({"gone-1"}), std::vector<bool>{true});
  EXPECT_EQ(revoked.revoked_many({"kept"}), std::vector<bool>{false});
  EXPECT_TRUE(revoked.is_revoked(odd));
  EXPECT_FALSE(revoked.is_revoked("kept"));
}

TEST_F(BatchedRepository, ConcurrentRevocationChecksAndAccounts_EveryCallerGetsItsOwnAnswer) {
  users::RevokedTokens revoked(pool_);
  std::vector<long long> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back(
        repository_.add(new_user("u" + std::to_string(i), std::to_string(i) + "@x.io")).id);
    if (i % 2) revoked.revoke("jti-" + std::to_string(i), 4102444800);
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 24; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 40; ++n) {
        int i = (t + n) % 10;
        if (revoked.is_revoked("jti-" + std::to_string(i)) != (i % 2 == 1)) wrong.fetch_add(1);
        auto account = repository_.find_account(ids[static_cast<std::size_t>(i)]);
        if (!account || account->user.username != "u" + std::to_string(i)) wrong.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

// Ids of a page, to compare pages at a glance.
std::vector<long long> ids_of(const std::vector<users::User>& page) {
  std::vector<long long> ids;
  for (const auto& user : page) ids.push_back(user.id);
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
  auto pages = repository_.pages_many(
      false, {{0, 3}, {10, 5}, {28, 10}, {30, 5}, {0, 3}, {-5, 1}, {9223372036854775807, 2}});
  ASSERT_EQ(pages.size(), 7u);
  EXPECT_EQ(ids_of(pages[0]), range(1, 3));
  EXPECT_EQ(ids_of(pages[1]), range(11, 15));
  EXPECT_EQ(ids_of(pages[2]), range(29, 30));  // the end of the table: a short page
  EXPECT_TRUE(pages[3].empty());               // past the end
  EXPECT_EQ(ids_of(pages[4]), range(1, 3));    // the same key twice: the same page
  EXPECT_EQ(ids_of(pages[5]), range(1, 1));
  EXPECT_TRUE(pages[6].empty());
  EXPECT_EQ(pages[1][0].username, "user11");
  EXPECT_EQ(pages[1][0].email, "11@example.com");
}

TEST_F(BatchedPages, NewestFirst_EachKeyGetsTheUsersBeforeItNewestFirst) {
  auto pages = repository_.pages_many(
      true, {{9223372036854775807, 4}, {10, 3}, {3, 50}, {1, 5}, {9223372036854775807, 4}});
  ASSERT_EQ(pages.size(), 5u);
  EXPECT_EQ(ids_of(pages[0]), range(30, 27, -1));
  EXPECT_EQ(ids_of(pages[1]), range(9, 7, -1));
  EXPECT_EQ(ids_of(pages[2]), range(2, 1, -1));
  EXPECT_TRUE(pages[3].empty());
  EXPECT_EQ(ids_of(pages[4]), range(30, 27, -1));
}

TEST_F(BatchedPages, OnePage_TheSingleStatementGivesTheSameRows) {
  auto batched = repository_.pages_many(false, {{5, 4}, {20, 4}});
  auto alone = repository_.pages_many(false, {{5, 4}});
  ASSERT_EQ(alone.size(), 1u);
  EXPECT_EQ(ids_of(alone[0]), ids_of(batched[0]));
  EXPECT_EQ(alone[0][0].created_at, batched[0][0].created_at);
  EXPECT_EQ(ids_of(repository_.pages_many(true, {{5, 2}})[0]), range(4, 3, -1));
}

TEST_F(BatchedPages, ConcurrentPagesOnAPoolOfTwo_EveryCallerGetsItsOwnPage) {
  constexpr int kThreads = 24;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        long long from = (t + i) % 31;
        int limit = 1 + (t * 7 + i) % 6;
        auto after = repository_.page_after(from, limit);
        if (ids_of(after) != range(from + 1, std::min<long long>(from + limit, 30))) {
          wrong.fetch_add(1);
        }
        auto newest = repository_.newest_before(from + 1, limit);
        if (ids_of(newest) != range(from, std::max<long long>(from - limit + 1, 1), -1)) {
          wrong.fetch_add(1);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
