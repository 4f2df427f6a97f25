// CommonMark (the OpenAPI document's descriptions) to HTML, through cmark.
#pragma once

#include <string>
#include <string_view>

namespace users {

// The HTML of `text` read as CommonMark. Safe to put in a page as it is: raw
// HTML in the text is left out and links to javascript:, vbscript:, file: and
// data: (other than images) are dropped (cmark's default, safe mode).
std::string markdown_to_html(std::string_view text);

}  // namespace users
