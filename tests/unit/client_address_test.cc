// The address limits and aggregated audit rows are kept under: the peer's,
// or what a trusted proxy forwarded, never what an untrusted caller claims.
#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include "service/client_address.h"

namespace hostca::service {
namespace {

TEST(ClientAddress, WithoutTrustedProxiesThePeerIsTheClient) {
  const TrustedProxies none;
  EXPECT_EQ(client_address("ipv4:203.0.113.7:5000", {"198.51.100.1"}, none), "ipv4:203.0.113.7");
  EXPECT_EQ(client_address("ipv6:[2001:db8::1]:5000", {}, none), "ipv6:[2001:db8::1]");
  EXPECT_EQ(client_address("ipv6:%5B::1%5D:5000", {}, none), "ipv6:[::1]");
  EXPECT_EQ(client_address("unix:/run/x.sock", {}, none), "unix:/run/x.sock");
}

TEST(ClientAddress, AnUntrustedPeerCannotNameAnotherAddress) {
  const auto trusted = TrustedProxies::parse("10.0.0.7");
  EXPECT_EQ(client_address("ipv4:10.0.0.8:5000", {"198.51.100.1"}, trusted), "ipv4:10.0.0.8");
}

TEST(ClientAddress, ATrustedProxyForwardsTheRightMostUntrustedHop) {
  const auto trusted = TrustedProxies::parse("10.0.0.0/24, 2001:db8:ffff::/48");
  // The client put a made-up address first; the proxies appended what they saw.
  EXPECT_EQ(client_address("ipv4:10.0.0.7:5000", {"192.0.2.66, 203.0.113.9, 10.0.0.3"}, trusted),
            "ipv4:203.0.113.9");
  EXPECT_EQ(client_address("ipv4:10.0.0.7:5000", {"192.0.2.66", "203.0.113.9"}, trusted),
            "ipv4:203.0.113.9");
  EXPECT_EQ(client_address("ipv4:10.0.0.7:5000", {"2001:db8::5"}, trusted), "ipv6:[2001:db8::5]");
  // Nothing forwarded, or nothing readable: the proxy itself.
  EXPECT_EQ(client_address("ipv4:10.0.0.7:5000", {}, trusted), "ipv4:10.0.0.7");
  EXPECT_EQ(client_address("ipv4:10.0.0.7:5000", {"garbage"}, trusted), "ipv4:10.0.0.7");
  EXPECT_EQ(client_address("ipv4:10.0.0.7:5000", {"203.0.113.9, garbage"}, trusted),
            "ipv4:10.0.0.7");
  // Every hop trusted: the left-most.
  EXPECT_EQ(client_address("ipv4:10.0.0.7:5000", {"10.0.0.1, 10.0.0.2"}, trusted), "ipv4:10.0.0.1");
}

TEST(ClientAddress, CidrBlocksMatchOnTheirPrefixOnly) {
  const auto trusted = TrustedProxies::parse("192.0.2.128/25,2001:db8::/126");
  EXPECT_TRUE(trusted.contains("ipv4:192.0.2.128"));
  EXPECT_TRUE(trusted.contains("192.0.2.255"));
  EXPECT_FALSE(trusted.contains("192.0.2.127"));
  EXPECT_TRUE(trusted.contains("ipv6:[2001:db8::3]"));
  EXPECT_FALSE(trusted.contains("2001:db8::4"));
  EXPECT_FALSE(trusted.contains("not an address"));
}

TEST(ClientAddress, ABadProxyListIsRefusedNamingTheEntry) {
  for (const std::string bad :
       {"10.0.0.1,,10.0.0.2", "proxy.example", "10.0.0.0/33", "::/129", "10.0.0.0/x"}) {
    const std::string msg =
        HOSTCA_EXPECT_ERROR(TrustedProxies::parse(bad), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("trusted proxies"), std::string::npos) << msg;
  }
  EXPECT_TRUE(TrustedProxies::parse("").empty());
}

}  // namespace
}  // namespace hostca::service
