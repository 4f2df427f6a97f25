// The HTML page (GET / and the form's POST /): the seed's page tests, then
// escaping, and rejected forms shown again with their message and values.
#include "service_fixture.hpp"

namespace {

using fixture::contains;
using fixture::ServiceTest;

using IndexPage = ServiceTest;

constexpr const char* kHtml = "text/html; charset=utf-8";

// The created_at date of a user as the page should show it (YYYY-MM-DD, UTC).
std::string created_on(int id) {
  return fixture::execute(
             "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM users WHERE id = " +
             std::to_string(id))[0][0]
      .as<std::string>();
}

TEST_F(IndexPage, GetIndex_NoUsers_ShowsAllUsersAndNoUsers) {
  auto response = get("/");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), kHtml);
  EXPECT_TRUE(contains(response.body, "<h1>All Users</h1>")) << response.body;
  EXPECT_TRUE(contains(response.body, "No users!")) << response.body;
  EXPECT_TRUE(contains(response.body, "<form")) << response.body;
}

TEST_F(IndexPage, GetIndex_WithUsers_ListsThemNewestFirstWithDate) {
  ASSERT_EQ(add_user("michael", "michael@sonotreal.com").status, 201);
  ASSERT_EQ(add_user("fletcher", "fletcher@sonotreal.com").status, 201);
  auto response = get("/");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), kHtml);
  EXPECT_TRUE(contains(response.body, "All Users"));
  EXPECT_FALSE(contains(response.body, "No users!"));
  auto fletcher = response.body.find(">fletcher<");
  auto michael = response.body.find(">michael<");
  ASSERT_NE(fletcher, std::string::npos) << response.body;
  ASSERT_NE(michael, std::string::npos) << response.body;
  EXPECT_LT(fletcher, michael) << "newest first";
  EXPECT_TRUE(contains(response.body, ">" + created_on(1) + "<")) << response.body;
  EXPECT_TRUE(contains(response.body, ">" + created_on(2) + "<")) << response.body;
}

TEST_F(IndexPage, PostIndex_Form_AddsUserRedirectsAndPageShowsIt) {
  auto response = post_form("username=michael&email=michael%40sonotreal.com");
  ASSERT_TRUE(response.status == 303 || response.status == 200) << response.status;
  if (response.status == 303) {
    EXPECT_EQ(response.header("Location"), "/");
  }
  auto page = get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(contains(page.body, "All Users"));
  EXPECT_FALSE(contains(page.body, "No users!"));
  EXPECT_TRUE(contains(page.body, ">michael<")) << page.body;
  auto rows = fixture::execute("SELECT username, email FROM users");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "michael");
  EXPECT_EQ(rows[0][1].as<std::string>(), "michael@sonotreal.com");
}

TEST_F(IndexPage, PostIndex_FormWithPercentEncodedUnicode_StoresDecodedAndTrimmed) {
  auto response =
      post_form("username=+Zo%C3%AB+%E6%97%A5%E6%9C%AC+%F0%9F%9A%80+&email=zoe%40example.com");
  ASSERT_TRUE(response.status == 303 || response.status == 200) << response.body;
  EXPECT_EQ(get("/users/1").json()["data"]["username"], "Zoë 日本 🚀");
  EXPECT_TRUE(contains(get("/").body, ">Zoë 日本 🚀<"));
}

TEST_F(IndexPage, PostIndex_FormWithCharsetAndEncodedPlus_StoresExactValues) {
  auto response = post("/", "username=a%2Bb+c&email=plus%2Btag%40example.com",
                       {{"Content-Type", "application/x-www-form-urlencoded; charset=UTF-8"}});
  ASSERT_TRUE(response.status == 303 || response.status == 200) << response.body;
  auto rows = fixture::execute("SELECT username, email FROM users");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "a+b c");
  EXPECT_EQ(rows[0][1].as<std::string>(), "plus+tag@example.com");
}

TEST_F(IndexPage, GetIndex_UnicodeUsername_ShownUnchanged) {
  ASSERT_EQ(add_user("Zoë 日本 🚀", "zoe@example.com").status, 201);
  EXPECT_TRUE(contains(get("/").body, ">Zoë 日本 🚀<"));
}

TEST_F(IndexPage, GetIndex_HtmlInUsername_IsEscapedNeverRaw) {
  ASSERT_EQ(add_user("<img src=x onerror=alert(1)>", "xss@example.com").status, 201);
  ASSERT_EQ(add_user("Tom & \"Jerry\" <b>", "tom@example.com").status, 201);
  auto page = get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_FALSE(contains(page.body, "<img")) << page.body;
  EXPECT_FALSE(contains(page.body, "<b>")) << page.body;
  EXPECT_TRUE(contains(page.body, "&lt;img src=x onerror=alert(1)&gt;")) << page.body;
  EXPECT_TRUE(contains(page.body, "Tom &amp; &quot;Jerry&quot; &lt;b&gt;")) << page.body;
}

TEST_F(IndexPage, PostIndex_InvalidEmail_Returns400HtmlWithMessageAndEscapedValues) {
  auto response = post_form("username=%22%3E%3Cb%3Ebob&email=not-an-email%3Cscript%3E");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.header("Content-Type"), kHtml);
  EXPECT_TRUE(contains(response.body, "All Users"));
  EXPECT_TRUE(contains(response.body, "Email must look like name@example.com.")) << response.body;
  EXPECT_TRUE(contains(response.body, "value=\"&quot;&gt;&lt;b&gt;bob\"")) << response.body;
  EXPECT_TRUE(contains(response.body, "value=\"not-an-email&lt;script&gt;\"")) << response.body;
  EXPECT_FALSE(contains(response.body, "<b>bob")) << response.body;
  EXPECT_FALSE(contains(response.body, "<script>")) << response.body;
  EXPECT_EQ(user_count(), 0);
}

TEST_F(IndexPage, PostIndex_BadFields_Return400HtmlWithMessage) {
  struct Case {
    std::string body;
    std::string message;
  };
  const Case cases[] = {
      {"username=&email=a%40b.co", "Username is required."},
      {"username=+++&email=a%40b.co", "Username is required."},
      {"email=a%40b.co", "Username is required."},
      {"username=bob", "Email is required."},
      {"username=bob&email=+", "Email is required."},
      {"username=" + std::string(129, 'u') + "&email=a%40b.co",
       "Username must be at most 128 characters."},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto response = post_form(c.body);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.header("Content-Type"), kHtml);
    EXPECT_TRUE(contains(response.body, c.message)) << response.body;
  }
  EXPECT_EQ(user_count(), 0);
}

TEST_F(IndexPage, PostIndex_NotAForm_Returns400Html) {
  const std::string form = "username=bob&email=bob%40example.com";
  const support::HttpResponse responses[] = {
      post("/", form, {}),
      post("/", form, {{"Content-Type", "text/plain"}}),
      post("/", R"({"username":"bob","email":"bob@example.com"})",
           {{"Content-Type", "application/json"}}),
      post_form("username=bob&email=%ZZ"),
  };
  for (const auto& response : responses) {
    EXPECT_EQ(response.status, 400) << response.body;
    EXPECT_EQ(response.header("Content-Type"), kHtml);
    EXPECT_TRUE(contains(response.body, "All Users"));
  }
  EXPECT_EQ(user_count(), 0);
}

TEST_F(IndexPage, PostIndex_DuplicateEmail_Returns400HtmlWithMessageAndValues) {
  ASSERT_EQ(add_user("michael", "michael@sonotreal.com").status, 201);
  auto response = post_form("username=mike&email=MICHAEL%40sonotreal.com");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.header("Content-Type"), kHtml);
  EXPECT_TRUE(contains(response.body, "Sorry. That email already exists.")) << response.body;
  EXPECT_TRUE(contains(response.body, "value=\"mike\"")) << response.body;
  EXPECT_TRUE(contains(response.body, "value=\"MICHAEL@sonotreal.com\"")) << response.body;
  EXPECT_EQ(user_count(), 1);
}

}  // namespace
