// CRLs as the CLIs handle them: parsed from the DER the RevocationService
// sends, checked against the pinned CA, described for people and for JSON,
// and kept on a host as one PEM bundle of "X509 CRL" blocks (crl.pem).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <botan/x509_crl.h>
#include <botan/x509cert.h>

namespace hostca::agent {

// One CRL as received: the shard and number the server reports beside it,
// and its DER, parsed.
struct ReceivedCrl {
  unsigned shard = 0;
  bool ca_scope = false;  // the CRL for CA certificates, not a host shard
  unsigned long long crl_number = 0;
  unsigned ca_generation = 0;      // the CA key the server says signed it (0: not said)
  std::string signer_spki_sha256;  // the pinned key that did, checked here
  std::string der;
  Botan::X509_CRL crl;
};

// Throws Error(kInvalidArgument) naming `what` if `der` is not a CRL.
Botan::X509_CRL parse_crl_der(const std::string& der, const std::string& what);

// Every "X509 CRL" block of a PEM bundle; throws Error(kFailedPrecondition)
// naming `path` if a block does not parse or there is none.
std::vector<Botan::X509_CRL> parse_crl_bundle(const std::string& pem, const std::string& path);
std::string crl_bundle_pem(const std::vector<ReceivedCrl>& crls);

// True if `crl` carries a valid signature of `ca`'s key and names it as issuer.
bool issued_by(const Botan::X509_CRL& crl, const Botan::X509_Certificate& ca);

struct RevokedEntry {
  std::string serial_hex;  // lower case, as the server writes serials
  std::string revoked_at;  // RFC 3339
  std::string reason;      // RFC 5280 name, or the number if it has none here
};

std::vector<RevokedEntry> revoked_entries(const Botan::X509_CRL& crl);
// The entry revoking `cert` in any of `crls`, if one does.
std::optional<RevokedEntry> find_revocation(const std::vector<Botan::X509_CRL>& crls,
                                            const Botan::X509_Certificate& cert);

// The URL in the CRL's issuing distribution point (a shard's CRL), or empty.
std::string distribution_point(const Botan::X509_CRL& crl);

std::string rfc3339(const Botan::X509_Time& t);

}  // namespace hostca::agent
