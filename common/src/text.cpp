#include "common/text.hpp"

#include <algorithm>

namespace common {
namespace {

// Not std::tolower: its answer depends on the C locale.
char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

}  // namespace

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

std::string to_upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), ascii_upper);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

std::string_view trim(std::string_view text, std::string_view chars) {
  auto begin = text.find_first_not_of(chars);
  if (begin == std::string_view::npos) return {};
  return trim_end(text.substr(begin), chars);
}

std::string_view trim_end(std::string_view text, std::string_view chars) {
  auto last = text.find_last_not_of(chars);
  return last == std::string_view::npos ? std::string_view{} : text.substr(0, last + 1);
}

bool is_http_method(std::string_view method) {
  return std::find(kHttpMethods.begin(), kHttpMethods.end(), method) != kHttpMethods.end();
}

}  // namespace common
