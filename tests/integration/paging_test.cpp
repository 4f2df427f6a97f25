// Keyset paging: GET /users?limit=N&after=ID (Link to the next page, strict
// parameters) and the page's GET /?before=ID.
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "service_fixture.hpp"

namespace {

using fixture::contains;
using fixture::expect_fail;
using fixture::ServiceTest;

using Paging = ServiceTest;

// `count` users named user<id>, added in one statement (ids 1..count).
void add_users(int count) {
  fixture::execute(
      "INSERT INTO users (username, email) SELECT 'user' || g, 'user' || g || '@example.com' "
      "FROM generate_series(1, " +
      std::to_string(count) + ") AS g ORDER BY g");
}

// The path of a Link: </users?limit=N&after=ID>; rel="next" -> /users?...
std::string next_path(const std::string& link) {
  auto open = link.find('<');
  auto close = link.find('>');
  if (open != 0 || close == std::string::npos) return {};
  EXPECT_EQ(link.substr(close), ">; rel=\"next\"");
  return link.substr(1, close - 1);
}

// GET without the OpenAPI check of every response: checking a thousand
// users' body takes seconds; small pages of the same shape are checked.
support::HttpResponse get_unchecked(support::HttpConnection& connection, const std::string& path) {
  connection.send_raw("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
  return connection.read_response();
}

support::HttpResponse get_unchecked(const std::string& path) {
  support::HttpConnection connection("127.0.0.1", fixture::service().app->port());
  return get_unchecked(connection, path);
}

// Follows Link from `first` to the end; the ids in the order received. (Pages
// unchecked against OpenAPI: the checks are slow under sanitizers, and the
// page tests below check the same shape.)
std::vector<long long> walk(const std::string& first, int* pages = nullptr) {
  std::vector<long long> ids;
  std::string path = first;
  int count = 0;
  while (!path.empty()) {
    auto response = get_unchecked(path);
    EXPECT_EQ(response.status, 200) << path << " " << response.body;
    if (response.status != 200) break;
    auto body = response.json();
    for (const auto& user : body["data"]["users"]) {
      ids.push_back(user["id"].get<long long>());
    }
    path = response.has_header("Link") ? next_path(response.header("Link")) : "";
    if (++count > 10000) break;  // a Link loop
  }
  if (pages) *pages = count;
  return ids;
}

std::vector<long long> one_to(long long n) {
  std::vector<long long> ids;
  for (long long id = 1; id <= n; ++id) ids.push_back(id);
  return ids;
}

TEST_F(Paging, FollowingLink_WalksEveryUserOnceInInsertionOrder) {
  add_users(257);
  int pages = 0;
  EXPECT_EQ(walk("/users?limit=50", &pages), one_to(257));
  EXPECT_EQ(pages, 6);  // five full pages, then 7 users and no Link
}

TEST_F(Paging, LastPageFull_NextPageIsEmptyWithoutLink) {
  add_users(20);
  auto response = get("/users?limit=10&after=10");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.json()["data"]["users"].size(), 10u);
  EXPECT_EQ(response.header("Link"), "</users?limit=10&after=20>; rel=\"next\"");
  auto last = get("/users?limit=10&after=20");
  ASSERT_EQ(last.status, 200);
  EXPECT_EQ(last.json(), (nlohmann::json{{"status", "success"},
                                         {"data", {{"users", nlohmann::json::array()}}}}));
  EXPECT_FALSE(last.has_header("Link"));
}

TEST_F(Paging, Page_HasTheUsersFieldsAndStartsAfterTheGivenId) {
  add_users(10);
  auto response = get("/users?after=3&limit=2");
  ASSERT_EQ(response.status, 200);
  auto users = response.json()["data"]["users"];
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0]["id"], 4);
  EXPECT_EQ(users[0]["username"], "user4");
  EXPECT_EQ(users[0]["email"], "user4@example.com");
  EXPECT_EQ(users[0]["active"], false);
  EXPECT_EQ(users[1]["id"], 5);
}

TEST_F(Paging, DeletedIds_NoGapNoDuplicate) {
  add_users(30);
  fixture::execute("DELETE FROM users WHERE id % 3 = 0");
  std::vector<long long> expected;
  for (long long id = 1; id <= 30; ++id) {
    if (id % 3) expected.push_back(id);
  }
  EXPECT_EQ(walk("/users?limit=7"), expected);
  EXPECT_EQ(walk("/users?limit=1"), expected);
}

TEST_F(Paging, Limit1000_IsTheCap) {
  add_users(1001);
  auto response = get_unchecked("/users?limit=1000");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.json()["data"]["users"].size(), 1000u);
  EXPECT_EQ(response.header("Link"), "</users?limit=1000&after=1000>; rel=\"next\"");
  auto rest = get("/users?limit=1000&after=1000");
  ASSERT_EQ(rest.status, 200);
  EXPECT_EQ(rest.json()["data"]["users"].size(), 1u);
  EXPECT_FALSE(rest.has_header("Link"));
  expect_fail(get("/users?limit=1001"), 400, "limit must be an integer from 1 to 1000.");
}

TEST_F(Paging, NoQuery_StillEveryUser) {
  add_users(1001);  // more than a page can hold
  auto response = get_unchecked("/users");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.json()["data"]["users"].size(), 1001u);
  EXPECT_FALSE(response.has_header("Link"));
}

// With no parameters the whole table comes back, streamed in chunks of a
// thousand (chunked coding, no Content-Length), in insertion order, every user
// once: across chunk boundaries and with a gap in the ids.
TEST_F(Paging, NoQuery_ManyUsers_StreamedInOrderAcrossChunks) {
  add_users(2500);
  fixture::execute("DELETE FROM users WHERE id BETWEEN 990 AND 1010");
  auto response = get_unchecked("/users");
  ASSERT_EQ(response.status, 200);
  EXPECT_TRUE(response.header("Transfer-Encoding") == "chunked");
  EXPECT_FALSE(response.has_header("Content-Length"));
  auto body = response.json();
  EXPECT_EQ(body["status"], "success");
  const auto& users = body["data"]["users"];
  ASSERT_EQ(users.size(), 2500u - 21u);
  long long previous = 0;
  for (const auto& user : users) {
    auto id = user["id"].get<long long>();
    EXPECT_GT(id, previous);
    EXPECT_EQ(user["email"], "user" + std::to_string(id) + "@example.com");
    previous = id;
  }
  EXPECT_EQ(previous, 2500);
}

TEST_F(Paging, NoQuery_EmptyTable_EmptyListSameShapeAsBefore) {
  auto response = get_unchecked("/users");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"data":{"users":[]},"status":"success"})");
}

TEST_F(Paging, PercentEncodedAndHugeAfter_AreIntegersToo) {
  add_users(3);
  auto encoded = get("/users?%6Cimit=%32&after=%31");
  ASSERT_EQ(encoded.status, 200) << encoded.body;
  EXPECT_EQ(encoded.json()["data"]["users"][0]["id"], 2);
  auto beyond = get("/users?limit=5&after=9223372036854775807");
  ASSERT_EQ(beyond.status, 200) << beyond.body;
  EXPECT_TRUE(beyond.json()["data"]["users"].empty());
}

TEST_F(Paging, BadParameters_Are400JsonWithAClearMessage) {
  const std::string limit = "limit must be an integer from 1 to 1000.";
  const std::string after = "after must be an integer id, 0 or more.";
  const std::string unknown = "Unknown query parameter; the known ones are: limit, after.";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"limit=0", limit},
      {"limit=1001", limit},
      {"limit=-1", limit},
      {"limit=+5", limit},
      {"limit=1.5", limit},
      {"limit=abc", limit},
      {"limit=", limit},
      {"limit", limit},
      {"limit=%20%35", limit},
      {"limit=99999999999999999999", limit},
      {"after=5", limit},  // paging needs its page size
      {"limit=5&after=-1", after},
      {"limit=5&after=", after},
      {"limit=5&after=x", after},
      {"limit=5&after=9223372036854775808", after},
      {"limit=5&after=99999999999999999999", after},
      {"limit=5&limit=6", "Query parameter limit is repeated."},
      {"limit=5&after=1&after=2", "Query parameter after is repeated."},
      {"limit=5&page=2", unknown},
      {"foo=bar", unknown},
      {"limit=5&", unknown},
      {"&limit=5", unknown},
      {"LIMIT=5", unknown},
      {"limit=%zz", "Malformed query string."},
  };
  add_users(3);
  for (const auto& [query, message] : cases) {
    SCOPED_TRACE(query);
    expect_fail(get("/users?" + query), 400, message);
  }
}

TEST_F(Paging, ByIdAndPagesUnderConcurrency_EveryAnswerRight) {
  add_users(200);
  constexpr int kThreads = 32;
  constexpr int kRequests = 30;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      support::HttpConnection connection("127.0.0.1", port());
      for (int i = 0; i < kRequests; ++i) {
        int id = 1 + (t * 37 + i * 11) % 300;  // about a third do not exist
        if (i % 5 == 4) {
          auto response = get_unchecked(connection, "/users?limit=10&after=" + std::to_string(id));
          auto users = response.json()["data"]["users"];
          long long expected = std::min(10, std::max(0, 200 - id));
          bool right = response.status == 200 && static_cast<long long>(users.size()) == expected;
          for (std::size_t k = 0; right && k < users.size(); ++k) {
            right = users[k]["id"] == id + 1 + static_cast<int>(k);
          }
          if (!right) wrong.fetch_add(1);
          continue;
        }
        auto response = get_unchecked(connection, "/users/" + std::to_string(id));
        bool right =
            id <= 200
                ? response.status == 200 &&
                      response.json()["data"]["username"] == "user" + std::to_string(id) &&
                      response.json()["data"]["id"] == id
                : response.status == 404 && response.json()["message"] == "User does not exist";
        if (!right) {
          wrong.fetch_add(1);
          ADD_FAILURE() << "GET /users/" << id << ": " << response.status << " " << response.body;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

using IndexPaging = ServiceTest;

// The usernames a page lists, in order.
std::vector<std::string> listed(const std::string& body) {
  std::vector<std::string> names;
  const std::string open = "<strong class=\"username\">";
  for (auto pos = body.find(open); pos != std::string::npos; pos = body.find(open, pos)) {
    pos += open.size();
    names.push_back(body.substr(pos, body.find('<', pos) - pos));
  }
  return names;
}

std::vector<std::string> names_down(int from, int to) {
  std::vector<std::string> names;
  for (int id = from; id >= to; --id) names.push_back("user" + std::to_string(id));
  return names;
}

TEST_F(IndexPaging, OlderUsersLink_ShowsFiftyAtATimeNewestFirst) {
  add_users(120);
  auto first = get("/");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(listed(first.body), names_down(120, 71));
  EXPECT_TRUE(contains(first.body, "<a href=\"/?before=71\" rel=\"next\">Older users</a>"))
      << first.body;
  auto second = get("/?before=71");
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(listed(second.body), names_down(70, 21));
  EXPECT_TRUE(contains(second.body, "href=\"/?before=21\"")) << second.body;
  auto third = get("/?before=21");
  ASSERT_EQ(third.status, 200);
  EXPECT_EQ(listed(third.body), names_down(20, 1));
  EXPECT_FALSE(contains(third.body, "Older users"));
  auto beyond = get("/?before=1");
  EXPECT_EQ(beyond.status, 200);
  EXPECT_TRUE(contains(beyond.body, "No users!"));
}

TEST_F(IndexPaging, FiftyOrFewer_NoOlderLink) {
  add_users(50);
  auto page = get("/");
  EXPECT_EQ(listed(page.body), names_down(50, 1));
  EXPECT_FALSE(contains(page.body, "Older users"));
}

TEST_F(IndexPaging, BadBefore_Is400AsTheHtmlPage) {
  add_users(3);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"before=abc", "before must be an integer id, 1 or more."},
      {"before=0", "before must be an integer id, 1 or more."},
      {"before=", "before must be an integer id, 1 or more."},
      {"before=-5", "before must be an integer id, 1 or more."},
      {"before=2&before=3", "Query parameter before is repeated."},
      {"after=2", "Unknown query parameter; the known ones are: before."},
  };
  for (const auto& [query, message] : cases) {
    SCOPED_TRACE(query);
    auto response = get("/?" + query);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_TRUE(contains(response.body, message)) << response.body;
  }
}

TEST_F(IndexPaging, FormPost_StillAddsAndShowsTheNewestPage) {
  add_users(60);
  auto added = post_form("username=newest&email=newest%40example.com");
  EXPECT_EQ(added.status, 303);
  auto page = get("/");
  auto names = listed(page.body);
  ASSERT_EQ(names.size(), 50u);
  EXPECT_EQ(names.front(), "newest");
  auto duplicate = post_form("username=again&email=NEWEST%40example.com");
  EXPECT_EQ(duplicate.status, 400);
  EXPECT_TRUE(contains(duplicate.body, "Sorry. That email already exists."));
  EXPECT_EQ(listed(duplicate.body).size(), 50u);
}

}  // namespace
