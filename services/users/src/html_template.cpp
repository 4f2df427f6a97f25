#include "html_template.hpp"

#include <stdexcept>

namespace users {

void append_html_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
}
namespace {

// More idle copies than this are dropped: the pool follows the number of
// renders that ran at once, not every burst.
constexpr std::size_t kMaxIdle = 16;

}  // namespace

HtmlTemplate::HtmlTemplate(std::string what, std::string source)
    : what_(std::move(what)), source_(std::move(source)) {
  give_back(take());  // parses once now, so a broken template fails at start
}

std::string HtmlTemplate::render(const kainjow::mustache::data& view) {
  auto parsed = take();
  std::string out;
  out.reserve(source_.size() * 2);
  // The handler form appends to one string (the stream form copies through
  // an ostringstream).
  parsed->render(view, [&out](const std::string& piece) { out += piece; });
  give_back(std::move(parsed));
  return out;
}

std::unique_ptr<kainjow::mustache::mustache> HtmlTemplate::take() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_.empty()) {
      auto parsed = std::move(idle_.back());
      idle_.pop_back();
      return parsed;
    }
  }
  auto parsed = std::make_unique<kainjow::mustache::mustache>(source_);
  if (!parsed->is_valid()) {
    throw std::runtime_error(what_ + " template: " + parsed->error_message());
  }
  return parsed;
}

void HtmlTemplate::give_back(std::unique_ptr<kainjow::mustache::mustache> parsed) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(parsed));
}

}  // namespace users
