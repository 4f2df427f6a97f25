// Request ids (common/request_id.hpp) and the per-thread id that log lines
// carry (common/log_context.hpp).
#include "common/request_id.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/log_context.hpp"

namespace {

using common::is_valid_request_id;
using common::new_request_id;

TEST(RequestId, ShortSafeIds_AreAccepted) {
  for (const std::string& id :
       {std::string("a"), std::string("trace-42"), std::string("abc-123_X.y:z"),
        std::string("550e8400-e29b-41d4-a716-446655440000"), std::string(128, 'a')}) {
    EXPECT_TRUE(is_valid_request_id(id)) << id;
  }
}

TEST(RequestId, EmptyOrLongerThan128_IsRefused) {
  EXPECT_FALSE(is_valid_request_id(""));
  EXPECT_FALSE(is_valid_request_id(std::string(129, 'a')));
  EXPECT_FALSE(is_valid_request_id(std::string(300, 'a')));
}

TEST(RequestId, CharactersThatCouldForgeALogLineOrHeader_AreRefused) {
  for (const std::string& id : {std::string("bad id!"), std::string("bad id"), std::string("a\nb"),
                                std::string("a\r\nX: y"), std::string("a\tb"), std::string("<x>"),
                                std::string("a\"b"), std::string("a/b"), std::string("é"),
                                std::string("a\0b", 3), std::string("[id]"), std::string("a;b")}) {
    EXPECT_FALSE(is_valid_request_id(id)) << testing::PrintToString(id);
  }
}

TEST(RequestId, Generated_Is32LowerCaseHex) {
  for (int i = 0; i < 100; ++i) {
    auto id = new_request_id();
    ASSERT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    EXPECT_TRUE(is_valid_request_id(id));
  }
}

TEST(RequestId, Generated_AreDistinct) {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.insert(new_request_id());
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(RequestId, GeneratedOnManyThreads_AreDistinct) {
  constexpr int kThreads = 8;
  constexpr int kEach = 1000;
  std::vector<std::vector<std::string>> per_thread(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) per_thread[t].push_back(new_request_id());
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> all;
  for (const auto& ids : per_thread) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
}

TEST(RequestIdScope, SetsTheCurrentIdForItsLifetime) {
  EXPECT_EQ(common::current_request_id(), "");
  {
    common::RequestIdScope scope("req-1");
    EXPECT_EQ(common::current_request_id(), "req-1");
  }
  EXPECT_EQ(common::current_request_id(), "");
}

TEST(RequestIdScope, IsPerThread) {
  common::RequestIdScope scope("main-thread");
  std::string seen_on_other = "unset";
  std::thread other([&] {
    seen_on_other = std::string(common::current_request_id());
    common::RequestIdScope inner("other-thread");
  });
  other.join();
  EXPECT_EQ(seen_on_other, "");
  EXPECT_EQ(common::current_request_id(), "main-thread");
}

}  // namespace
