// CommonMark to HTML for /docs: rendered, and safe to put in a page.
#include "markdown.hpp"

#include <gtest/gtest.h>

namespace {

using users::markdown_to_html;

TEST(Markdown, InlineCode_BecomesCodeElementWithEscapedText) {
  EXPECT_EQ(markdown_to_html("Errors are `{\"status\":\"fail\"}`."),
            "<p>Errors are <code>{&quot;status&quot;:&quot;fail&quot;}</code>.</p>\n");
}

TEST(Markdown, Paragraphs_AreSplitOnBlankLines) {
  EXPECT_EQ(markdown_to_html("one\n\ntwo"), "<p>one</p>\n<p>two</p>\n");
}

TEST(Markdown, RawHtml_IsLeftOut) {
  auto html = markdown_to_html("a <script>alert(1)</script> b\n\n<img src=x onerror=alert(1)>");
  EXPECT_EQ(html.find("<script"), std::string::npos) << html;
  EXPECT_EQ(html.find("<img"), std::string::npos) << html;
}

TEST(Markdown, JavascriptLinks_AreDropped) {
  auto html = markdown_to_html("[click](javascript:alert(1))");
  EXPECT_EQ(html.find("javascript:"), std::string::npos) << html;
  EXPECT_NE(html.find("click"), std::string::npos) << html;
}

TEST(Markdown, AngleBracketsInText_AreEscaped) {
  EXPECT_EQ(markdown_to_html("No `Authorization: Bearer <token>` header."),
            "<p>No <code>Authorization: Bearer &lt;token&gt;</code> header.</p>\n");
}

}  // namespace
