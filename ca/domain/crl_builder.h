// Builds and signs a v2 CRL (RFC 5280 5.1): CRL number, authority key
// identifier, thisUpdate/nextUpdate, entries with their revocation date and
// reason, and, for a shard, a critical issuing distribution point naming the
// shard's URL. Knows nothing of storage.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "domain/signer.h"
#include "pki/revocation_reason.h"

namespace hostca {

struct CrlEntry {
  std::string serial_hex;
  TimePoint revoked_at;
  RevocationReason reason = RevocationReason::kUnspecified;
};

struct CrlContents {
  std::uint64_t crl_number = 0;
  TimePoint this_update;
  TimePoint next_update;
  // The shard's URL; empty for an unpartitioned CRL.
  std::string distribution_point_url;
  // A CRL for CA certificates only (issuing distribution point
  // onlyContainsCACerts, no distribution point name).
  bool only_ca_certificates = false;
  std::vector<CrlEntry> entries;
};

// Appends one revokedCertificates entry (RFC 5280 5.1.2.6): serial,
// revocation date and, unless unspecified, the reasonCode entry extension.
void append_revoked_certificate(std::vector<std::uint8_t>& out, const CrlEntry& entry);

class CrlBuilder {
 public:
  explicit CrlBuilder(std::shared_ptr<const Signer> signer);
  // DER of the signed CRL. Throws Error(kInvalidArgument) if nextUpdate is
  // not after thisUpdate or a serial is not hex.
  Bytes build(const CrlContents& contents) const;

 private:
  std::shared_ptr<const Signer> signer_;
};

}  // namespace hostca
