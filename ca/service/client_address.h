// Who is calling, as an address: the gRPC peer's address, or, when the peer
// is one of the configured trusted proxies, the client address the proxy
// forwarded (x-forwarded-for). Limits and aggregated audit rows are kept per
// this address, so a caller can name another address only through a proxy
// the operator trusts.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace grpc {
class ServerContextBase;
}

namespace hostca::service {

class TrustedProxies {
 public:
  TrustedProxies() = default;
  // "10.0.0.7, 10.1.0.0/16, 2001:db8::/32": addresses or CIDR blocks, comma
  // separated; empty trusts none. Throws Error(kInvalidArgument) naming the
  // entry that is not one.
  static TrustedProxies parse(const std::string& text);

  // True when the address ("ipv4:10.0.0.7", "10.0.0.7", "ipv6:[::1]") is in one of the blocks.
  bool contains(const std::string& address) const;
  bool empty() const { return blocks_.empty(); }

 private:
  struct Block {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};
    int prefix = 0;
  };
  std::vector<Block> blocks_;
};

// The client address of a call, without the port: "ipv4:203.0.113.7" or
// "ipv6:[2001:db8::1]" (other peers, say unix sockets, as gRPC names them).
// `forwarded_for` holds the x-forwarded-for values in the order received; it
// counts only when `peer` is a trusted proxy, and then the right-most entry
// that is not itself a trusted proxy is the client. An entry that is not an
// address ends the walk: the last trusted hop is the client.
std::string client_address(const std::string& peer, const std::vector<std::string>& forwarded_for,
                           const TrustedProxies& trusted);

// client_address() of a call: its peer and its x-forwarded-for metadata.
std::string client_address(const grpc::ServerContextBase& context, const TrustedProxies& trusted);

}  // namespace hostca::service
