// The CA keys a host pins (pin.json and ca.pem, replaced together): the
// current key, the one the server last presented as issuing, and the others
// it learnt or still needs: a next key announced with a link from a pinned
// key, a previous one that the host's certificate may still come from. Every
// channel to the server trusts all of them, and nothing else.
#pragma once

#include <string>
#include <vector>

#include <botan/x509cert.h>

#include "agent/agent_dir.h"

namespace hostca::agent {

enum class PinRole {
  kCurrent,   // the key the server presents as its active CA
  kNext,      // announced as the next key, pinned through its link
  kPrevious,  // pinned earlier, no longer issuing (retiring, or no longer announced)
};

// "current", "next", "previous".
std::string to_string(PinRole role);

struct PinnedCa {
  PinRole role = PinRole::kCurrent;
  Botan::X509_Certificate certificate;
  std::string sha256;       // of the DER certificate, computed here
  std::string spki_sha256;  // of its public key: what is pinned
};

PinnedCa pinned_ca(PinRole role, const Botan::X509_Certificate& certificate);

// The key of `keys` whose signature `cert` carries (under its subject), or null.
const PinnedCa* issuer_among(const std::vector<PinnedCa>& keys,
                             const Botan::X509_Certificate& cert);

class PinSet {
 public:
  // Throws Error(kInvalidArgument) unless `keys` holds exactly one current
  // key and no public key twice. Kept with the current key first.
  PinSet(std::string server, std::string tls_server_name, std::vector<PinnedCa> keys);

  // pin.json and ca.pem, the single pin of earlier agents included. Throws
  // Error(kFailedPrecondition) when nothing is pinned, CertificateFailure
  // when ca.pem does not hold exactly the pinned keys.
  static PinSet read(const AgentDir& dir);
  // Replaces ca.pem and pin.json together.
  void save(const AgentDir& dir) const;

  const std::string& server() const { return server_; }
  const std::string& tls_server_name() const { return tls_server_name_; }
  const PinnedCa& current() const { return keys_.front(); }
  // The current key first.
  const std::vector<PinnedCa>& keys() const { return keys_; }

  // The pinned key with this SPKI SHA-256, or null.
  const PinnedCa* find(const std::string& spki_sha256) const;
  bool pins(const std::string& spki_sha256) const { return find(spki_sha256) != nullptr; }
  // The pinned key whose signature `cert` carries, or null.
  const PinnedCa* issuer_of(const Botan::X509_Certificate& cert) const;

  std::vector<std::string> spki_fingerprints() const;
  // Every pinned CA certificate, the current one first: ca.pem, and the
  // roots of every channel to the server.
  std::string ca_pem() const;
  // What pin.json says.
  Pin record() const;

  // The same keys, reached at another address.
  PinSet at(std::string server, std::string tls_server_name) const;
  // Same keys and roles.
  bool same_keys_as(const PinSet& other) const;

 private:
  std::string server_;
  std::string tls_server_name_;
  std::vector<PinnedCa> keys_;
};

// Every certificate of a PEM bundle, in order; throws Error(kInvalidArgument)
// naming `what` if a block does not parse.
std::vector<Botan::X509_Certificate> parse_certificate_bundle(const std::string& pem,
                                                              const std::string& what);

}  // namespace hostca::agent
