// Entity tags and the conditional request fields that list them (RFC 9110
// 8.8.3, 13.1.1, 13.1.2): If-Match compares strongly, If-None-Match weakly.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace common {

struct EntityTag {
  bool weak = false;
  std::string opaque;  // between the quotes
};

// A field's value: "*", or a comma-separated list of entity tags.
struct EntityTagList {
  bool any = false;  // "*"
  std::vector<EntityTag> tags;
};

// nullopt when the field is not "*" nor a list of well-formed tags.
std::optional<EntityTagList> parse_entity_tags(std::string_view field);

// `"opaque"`: the ETag value of a strong tag.
std::string strong_etag(std::string_view opaque);

// If-None-Match `field` (non-empty) against the current strong tag's opaque
// part: true when it matches ("*" or any tag, weak or not, with that opaque
// part), i.e. GET and HEAD answer 304. A malformed field matches nothing.
bool none_match(std::string_view field, std::string_view opaque);

}  // namespace common
