// A mustache template that every event loop can render at once. kainjow's
// render() is not const (one parsed template must not render on two threads),
// and one template behind a mutex made GET / render on one core at a time:
// each concurrent render takes its own parsed copy from a small pool instead.
#pragma once

#include <kainjow/mustache.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace users {

// Appends `text` escaped for HTML text and attribute values, as mustache's
// {{...}} escapes it (& < > " ').
void append_html_escaped(std::string& out, std::string_view text);

class HtmlTemplate {
 public:
  // Throws std::runtime_error naming `what` when the source does not parse.
  HtmlTemplate(std::string what, std::string source);

  std::string render(const kainjow::mustache::data& view);

 private:
  std::unique_ptr<kainjow::mustache::mustache> take();
  void give_back(std::unique_ptr<kainjow::mustache::mustache> parsed);

  std::string what_;
  std::string source_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<kainjow::mustache::mustache>> idle_;
};

}  // namespace users
