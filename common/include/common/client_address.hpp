// Who the client is: the TCP peer, or the address a trusted reverse proxy
// (nginx's X-Real-IP) reports for it. Anyone else's X-Real-IP is ignored, so a
// client cannot pick its own address to dodge a per-address rate limit.
#pragma once

#include <string>
#include <vector>

#include "common/http.hpp"

namespace common {

// A set of IPv4/IPv6 addresses and CIDR blocks ("127.0.0.1", "10.0.0.0/8", "::1").
class AddressSet {
 public:
  // Throws std::invalid_argument naming the first entry that is not one.
  explicit AddressSet(const std::vector<std::string>& entries);
  bool contains(const std::string& address) const;

 private:
  struct Block {
    int family;
    unsigned char bytes[16];
    int prefix_bits;
  };
  std::vector<Block> blocks_;
};

std::string client_address(const Request& request, const AddressSet& trusted_proxies);

}  // namespace common
