// The HTML page: list, form, escaping, errors shown next to the form.
#include "service_fixture.hpp"

namespace {

using fixture::ServiceTest;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(ServiceTest, IndexPage_NoUsers_ShowsNoUsers) {
  auto response = get("/");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_TRUE(contains(response.body, "All Users"));
  EXPECT_TRUE(contains(response.body, "No users!"));
  EXPECT_TRUE(contains(response.body, "<form"));
}

TEST_F(ServiceTest, IndexPage_WithUsers_ListsThemNewestFirst) {
  ASSERT_EQ(add_user("michael", "michael@sonotreal.com").status, 201);
  ASSERT_EQ(add_user("fletcher", "fletcher@sonotreal.com").status, 201);
  auto response = get("/");
  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(contains(response.body, "No users!"));
  auto fletcher = response.body.find("fletcher");
  auto michael = response.body.find("michael");
  ASSERT_NE(fletcher, std::string::npos);
  ASSERT_NE(michael, std::string::npos);
  EXPECT_LT(fletcher, michael);
  auto today =
      execute("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')")[0][0].as<std::string>();
  EXPECT_TRUE(contains(response.body, today));
}

TEST_F(ServiceTest, IndexPage_FormPost_AddsUserAndRedirects) {
  auto response = post_form("username=michael&email=michael%40sonotreal.com");
  EXPECT_EQ(response.status, 303);
  EXPECT_EQ(response.header("Location"), "/");
  auto page = get("/");
  EXPECT_TRUE(contains(page.body, "All Users"));
  EXPECT_FALSE(contains(page.body, "No users!"));
  EXPECT_TRUE(contains(page.body, "michael"));
  EXPECT_EQ(user_count(), 1);
}

TEST_F(ServiceTest, IndexPage_EscapesUserData) {
  ASSERT_EQ(add_user("<img src=x onerror=alert(1)>", "xss@example.com").status, 201);
  auto page = get("/");
  EXPECT_FALSE(contains(page.body, "<img src=x"));
  EXPECT_TRUE(contains(page.body, "&lt;img src=x onerror=alert(1)&gt;"));
}

TEST_F(ServiceTest, IndexPage_BadForm_Returns400WithMessageAndValues) {
  auto response = post_form("username=%3Cb%3Ebob&email=not-an-email");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_TRUE(contains(response.body, "Email must look like name@example.com."));
  EXPECT_TRUE(contains(response.body, "value=\"&lt;b&gt;bob\""));
  EXPECT_TRUE(contains(response.body, "value=\"not-an-email\""));
  EXPECT_EQ(post_form("username=&email=a%40b.co").status, 400);
  EXPECT_EQ(post_form("email=a%40b.co").status, 400);
  EXPECT_EQ(user_count(), 0);
}

TEST_F(ServiceTest, IndexPage_DuplicateEmail_Returns400WithMessage) {
  ASSERT_EQ(add_user("michael", "michael@sonotreal.com").status, 201);
  auto response = post_form("username=mike&email=michael%40sonotreal.com");
  EXPECT_EQ(response.status, 400);
  EXPECT_TRUE(contains(response.body, "Sorry. That email already exists."));
  EXPECT_TRUE(contains(response.body, "value=\"mike\""));
  EXPECT_EQ(user_count(), 1);
}

}  // namespace
