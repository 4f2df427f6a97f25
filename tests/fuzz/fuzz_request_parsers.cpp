// libFuzzer target over the request-handling parsers: the JSON payload,
// validation, ids, forms and request ids. The first byte picks the parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/form.hpp"
#include "common/request_id.hpp"
#include "validation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 5) {
    case 0: {
      auto user = users::parse_new_user_json(input);
      // Whatever was accepted must satisfy the contract's rules.
      if (user && (user->username.empty() || user->email.empty() ||
                   users::utf8_length(user->username) > users::kMaxFieldLength ||
                   !users::is_valid_email(user->email))) {
        __builtin_trap();
      }
      break;
    }
    case 1: {
      auto split = input.find('\0');
      auto result = users::validate_new_user(input.substr(0, split), split == std::string_view::npos
                                                                         ? std::string_view()
                                                                         : input.substr(split + 1));
      if (result.user && !users::is_valid_utf8(result.user->username)) __builtin_trap();
      break;
    }
    case 2: {
      auto id = users::parse_user_id(input);
      if (id && (*id < -2147483648LL || *id > 2147483647LL)) __builtin_trap();
      break;
    }
    case 3:
      (void)common::parse_form(input);
      break;
    case 4:
      (void)common::is_valid_request_id(input);
      break;
  }
  return 0;
}
