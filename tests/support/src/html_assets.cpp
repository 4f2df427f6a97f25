// A small scan of HTML tags for src= and href= attributes: enough for pages
// this project renders itself (no comments or attributes spanning tricks).
#include "support/html_assets.hpp"

#include <cctype>

namespace support {

std::vector<PageReference> page_references(const std::string& html) {
  std::vector<PageReference> out;
  std::size_t pos = 0;
  while ((pos = html.find('<', pos)) != std::string::npos) {
    auto end = html.find('>', pos);
    if (end == std::string::npos) break;
    std::string tag_text = html.substr(pos + 1, end - pos - 1);
    pos = end;
    std::string name;
    for (char c : tag_text) {
      if (!std::isalnum(static_cast<unsigned char>(c))) break;
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (name == "script") out.push_back({name, "<inline script>"});
    for (const char* attribute : {" src=\"", " href=\""}) {
      auto at = tag_text.find(attribute);
      if (at == std::string::npos) continue;
      auto start = at + std::string(attribute).size();
      auto close = tag_text.find('"', start);
      if (close == std::string::npos) continue;
      out.push_back({name, tag_text.substr(start, close - start)});
    }
  }
  return out;
}

std::string external_loads(const std::string& html) {
  std::string found;
  for (const auto& reference : page_references(html)) {
    const std::string& url = reference.url;
    bool remote =
        url.rfind("http:", 0) == 0 || url.rfind("https:", 0) == 0 || url.rfind("//", 0) == 0;
    if (reference.tag == "script" || (remote && reference.tag != "a")) {
      found += "<" + reference.tag + "> " + url + "\n";
    }
  }
  return found;
}

std::vector<std::string> local_urls(const std::string& html) {
  std::vector<std::string> out;
  for (const auto& reference : page_references(html)) {
    const std::string& url = reference.url;
    if (url.size() > 1 && url[0] == '/' && url[1] != '/') out.push_back(url);
    if (url == "/") out.push_back(url);
  }
  return out;
}

}  // namespace support
