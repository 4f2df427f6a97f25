// The paged routes' query strings: what is accepted, and the message for
// what is not.
#include <gtest/gtest.h>

#include "paging.hpp"

namespace {

TEST(UsersPageQuery, LimitAndAfter_Parsed) {
  std::string error;
  auto page = users::parse_users_page("limit=10&after=25", error);
  ASSERT_TRUE(page) << error;
  EXPECT_EQ(page->limit, 10);
  EXPECT_EQ(page->after, 25);
}

TEST(UsersPageQuery, AfterDefaultsToZeroAndOrderDoesNotMatter) {
  std::string error;
  auto page = users::parse_users_page("limit=1000", error);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->after, 0);
  page = users::parse_users_page("after=9223372036854775807&limit=1", error);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->after, 9223372036854775807LL);
}

TEST(UsersPageQuery, BadInput_RefusedWithAMessage) {
  for (const char* query : {"limit=0", "limit=1001", "limit=", "limit=x", "after=1", "limit=5&x=1",
                            "limit=5&limit=5", "limit=5&after=-1", "limit=%", "limit=5&",
                            "limit=5&after=18446744073709551616", "limit=5&after=1e3"}) {
    std::string error;
    EXPECT_FALSE(users::parse_users_page(query, error)) << query;
    EXPECT_FALSE(error.empty()) << query;
  }
}

TEST(IndexPageQuery, BeforeOptionalAndPositive) {
  std::string error;
  auto none = users::parse_index_page("", error);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->before);
  auto some = users::parse_index_page("before=51", error);
  ASSERT_TRUE(some);
  EXPECT_EQ(some->before, 51);
  EXPECT_FALSE(users::parse_index_page("before=0", error));
  EXPECT_EQ(error, "before must be an integer id, 1 or more.");
  EXPECT_FALSE(users::parse_index_page("limit=5", error));
}

TEST(NextPageLink, PointsAfterTheLastId) {
  EXPECT_EQ(users::next_page_link(50, 150), "</users?limit=50&after=150>; rel=\"next\"");
}

}  // namespace
