#include "markdown.hpp"

#include <cmark.h>

#include <cstdlib>
#include <memory>
#include <new>

namespace users {

std::string markdown_to_html(std::string_view text) {
  // CMARK_OPT_DEFAULT is safe mode since cmark 0.29 (no raw HTML, no unsafe
  // links); said explicitly so a later change of default cannot loosen it.
  std::unique_ptr<char, decltype(&std::free)> html(
      cmark_markdown_to_html(text.data(), text.size(), CMARK_OPT_DEFAULT & ~CMARK_OPT_UNSAFE),
      &std::free);
  if (!html) throw std::bad_alloc();
  return html.get();
}

}  // namespace users
