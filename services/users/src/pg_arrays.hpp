// PostgreSQL array literals for the batched statements' parameters (libpqxx
// 6 has no array parameters): {"a","b\"c"} and {1,2}.
#pragma once

#include <string>
#include <vector>

namespace users {

// Every element is quoted, so commas, braces and NULL are data.
std::string text_array(const std::vector<std::string>& items);
std::string bigint_array(const std::vector<long long>& items);

}  // namespace users
