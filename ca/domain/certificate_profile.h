// What a host certificate looks like, as plain data loaded from
// configuration and checked once at start.
#pragma once

#include <string>

#include "common/clock.h"

namespace hostca {

struct CertificateProfile {
  Duration validity = std::chrono::hours(24 * 365);
  // notBefore lies this far in the past, for hosts whose clocks run behind.
  Duration backdate = std::chrono::minutes(5);
  // Base of the CRL distribution point URLs: "<base>/<shard>.crl".
  std::string crl_base_url = "http://127.0.0.1:8080/crl";

  // Throws Error(kInvalidArgument) naming the bad setting.
  void validate() const;
  // The CRL distribution point of a shard of one CA key: "<base>/<shard>.crl"
  // for the key made at init, "<base>/g<generation>/<shard>.crl" after.
  std::string crl_url(int shard, int ca_generation) const;
};

// The CRL shard a host belongs to: stable for the host's life.
int crl_shard_of(const std::string& host_id, int shard_count);
// The most CRL shards a CA may have (migration 0012).
constexpr int kMostCrlShards = 65536;

}  // namespace hostca
