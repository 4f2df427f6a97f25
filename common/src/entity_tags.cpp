// Entity tag lists.
#include "common/entity_tags.hpp"

#include "common/text.hpp"

namespace common {
namespace {

bool is_blank(char c) {
  return kOptionalWhitespace.find(c) != std::string_view::npos;
}

// etagc = "!" / %x23-7E / obs-text
bool is_etag_char(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80;
}

}  // namespace

std::optional<EntityTagList> parse_entity_tags(std::string_view field) {
  EntityTagList list;
  std::size_t pos = 0;
  auto skip_blanks = [&] {
    while (pos < field.size() && is_blank(field[pos])) ++pos;
  };
  skip_blanks();
  if (field.substr(pos, 1) == "*") {
    ++pos;
    skip_blanks();
    if (pos != field.size()) return std::nullopt;
    list.any = true;
    return list;
  }
  bool expect_tag = true;
  while (pos < field.size()) {
    if (field[pos] == ',') {  // empty list elements are allowed (RFC 9110 5.6.1)
      ++pos;
      skip_blanks();
      expect_tag = true;
      continue;
    }
    if (!expect_tag) return std::nullopt;
    EntityTag tag;
    if (field.substr(pos, 2) == "W/") {
      tag.weak = true;
      pos += 2;
    }
    if (pos >= field.size() || field[pos] != '"') return std::nullopt;
    auto close = pos + 1;
    while (close < field.size() && is_etag_char(static_cast<unsigned char>(field[close]))) ++close;
    if (close >= field.size() || field[close] != '"') return std::nullopt;
    tag.opaque = std::string(field.substr(pos + 1, close - pos - 1));
    list.tags.push_back(std::move(tag));
    pos = close + 1;
    skip_blanks();
    expect_tag = false;
  }
  if (list.tags.empty()) return std::nullopt;
  return list;
}

std::string strong_etag(std::string_view opaque) {
  std::string tag;
  tag.reserve(opaque.size() + 2);
  tag += '"';
  tag += opaque;
  tag += '"';
  return tag;
}

bool none_match(std::string_view field, std::string_view opaque) {
  auto list = parse_entity_tags(field);
  if (!list) return false;
  if (list->any) return true;
  for (const auto& tag : list->tags) {
    if (tag.opaque == opaque) return true;
  }
  return false;
}

}  // namespace common
