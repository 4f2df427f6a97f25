// HtmlTemplate: what one parsed mustache template renders, from many threads
// at once (kainjow's render() is not const; the pool gives each its own copy).
#include "html_template.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using kainjow::mustache::data;

const char* const kSource =
    "<ul>{{#rows}}<li>{{name}}</li>{{/rows}}</ul>{{#note}}<p>{{note}}</p>{{/note}}";

data rows_view(int thread, int count) {
  data rows{data::type::list};
  for (int i = 0; i < count; ++i) {
    data row;
    row.set("name", "t" + std::to_string(thread) + "-" + std::to_string(i) + "<&>");
    rows.push_back(row);
  }
  data view;
  view.set("rows", rows);
  return view;
}

std::string expected_rows(int thread, int count) {
  std::string out = "<ul>";
  for (int i = 0; i < count; ++i) {
    out += "<li>t" + std::to_string(thread) + "-" + std::to_string(i) + "&lt;&amp;&gt;</li>";
  }
  return out + "</ul>";
}

TEST(HtmlTemplate, RendersAndEscapes) {
  users::HtmlTemplate page("test", kSource);
  EXPECT_EQ(page.render(rows_view(1, 2)), expected_rows(1, 2));
  data view = rows_view(2, 0);
  view.set("note", "a \"quoted\" note");
  EXPECT_EQ(page.render(view), "<ul></ul><p>a &quot;quoted&quot; note</p>");
}

TEST(HtmlTemplate, BrokenSource_ThrowsAtConstructionNamingIt) {
  try {
    users::HtmlTemplate page("index", "{{#rows}} never closed");
    FAIL() << "a broken template was accepted";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("index template"), std::string::npos);
  }
}

TEST(HtmlTemplate, ManyThreadsAtOnce_EachGetsItsOwnPage) {
  users::HtmlTemplate page("test", kSource);
  constexpr int kThreads = 8;
  constexpr int kRenders = 200;
  std::vector<int> wrong(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&page, &wrong, t] {
      for (int n = 0; n < kRenders; ++n) {
        int count = 1 + (n + t) % 7;
        if (page.render(rows_view(t, count)) != expected_rows(t, count)) ++wrong[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t;
}

}  // namespace
