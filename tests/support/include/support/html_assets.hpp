// What an HTML page loads: the src/href URLs of its elements, for the checks
// that a page is self-contained (nothing from another host, no script).
#pragma once

#include <string>
#include <vector>

namespace support {

struct PageReference {
  std::string tag;  // "link", "img", "script", "a", ...
  std::string url;  // the src or href value as written
};

std::vector<PageReference> page_references(const std::string& html);

// "" when the page loads nothing from another host and has no script;
// otherwise what it loads. Links (<a href>) may point anywhere.
std::string external_loads(const std::string& html);

// The same-origin URLs among the references (those starting with one '/').
std::vector<std::string> local_urls(const std::string& html);

}  // namespace support
