// Initialising a CA in an empty database, and opening it at start. Init is
// one unit of work: the CA, the server's TLS certificate and the first admin
// key appear together or not at all, and an existing CA is never replaced.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "domain/ca_key.h"
#include "domain/ca_keys.h"
#include "domain/certificate_profile.h"
#include "domain/secret_token.h"
#include "domain/signer.h"
#include "store/store.h"

namespace hostca {

struct InitOptions {
  // Unset: ECDSA P-256, or for a token the algorithm of the key it holds.
  std::optional<CaKeyAlgorithm> algorithm;
  CaCertificateOptions ca;
  // Encrypts a software CA key; not needed for a key in a PKCS#11 token.
  std::string passphrase;
  // Set: the CA key is in this PKCS#11 token, under options' key label:
  // the key there, or a new one made there (sensitive, not extractable).
  // The database records module, token and key label, never the PIN.
  std::optional<Pkcs11KeyOptions> pkcs11;
  // DNS names and IPv4 addresses the server's TLS certificate is valid for.
  std::vector<std::string> server_names = {"localhost", "127.0.0.1"};
  int crl_shards = 16;
  std::string admin_key_name = "bootstrap";
  // profile.crl_base_url is recorded as the CA's: every server's certificates carry it.
  CertificateProfile profile;
};

struct InitResult {
  std::string ca_certificate_pem;
  std::string sha256_fingerprint;
  std::string spki_sha256;
  std::string key_algorithm;
  // A token key: made by this init (else it was in the token already).
  bool token_key_made = false;
  std::string server_certificate_pem;
  std::string server_private_key_pem;  // plaintext PKCS#8: write it 0600
  SecretToken admin_key;
  std::string admin_key_id;
};

// `rng` makes the CA key, the server key, the first admin key and the IDs.
InitResult initialize_ca(store::Store& store, const InitOptions& options, const Clock& clock,
                         Botan::RandomNumberGenerator& rng);

struct OpenedCa {
  std::shared_ptr<const CaKeyRing> ring;  // every key, opened
  std::shared_ptr<const Signer> signer;   // the active key's
  int crl_shards = 1;
  std::string crl_base_url;  // empty for a CA from before migration 0006 until one is recorded
};

// The CRL base URL `init` records when none is given: only where the server
// names leave no doubt (loopback only: the default serve address), else
// nullopt and init asks for --crl-base-url.
std::optional<std::string> default_crl_base_url(const std::vector<std::string>& server_names);

// The CRL base URL a server puts in certificates: the CA's. A configured one
// must be the same; throws Error(kFailedPrecondition) saying what to do.
std::string crl_base_url_to_serve(const OpenedCa& ca, const std::string& configured);

// Records the CRL base URL of a CA made before migration 0006; refuses to
// change one on record (Error(kFailedPrecondition)).
void record_crl_base_url(store::Store& store, const std::string& url, const Clock& clock);

// Loads the CA and opens its keys (CaKeyRing::open). Throws
// Error(kFailedPrecondition) when the database holds no CA or a key's
// secret is missing or wrong.
// The signers sign with `rng`, which must outlive them.
OpenedCa open_ca(store::Store& store, const CaKeySecrets& secrets,
                 Botan::RandomNumberGenerator& rng);
// A CA whose keys are all encrypted in the database.
OpenedCa open_ca(store::Store& store, const std::string& passphrase,
                 Botan::RandomNumberGenerator& rng);

// A new TLS key and certificate for a server, signed by the opened CA and
// recorded in the database.
struct ServerCertificate {
  std::string certificate_pem;
  std::string private_key_pem;
};
ServerCertificate issue_server_certificate(store::Store& store, const OpenedCa& ca,
                                           const std::vector<std::string>& names,
                                           const CertificateProfile& profile, const Clock& clock,
                                           Botan::RandomNumberGenerator& rng);

// The DNS names among a server's names that a host could otherwise ask for
// (not IP addresses, not localhost names), as the register keeps them.
std::vector<std::string> server_dns_names(const std::vector<std::string>& names);

// What a serving process found in the TLS certificate it presents.
struct ServerTlsCheck {
  bool has_marker = false;                 // is_server_certificate
  std::vector<std::string> reserved;       // its DNS names, now the server's in the register
  std::vector<std::string> held_by_hosts;  // its DNS names a host held already
};
// Reserves the DNS names of the certificate (PEM) for the CA server, so that
// no host is ever given one; throws Error(kInvalidArgument) if the PEM is
// not a certificate.
ServerTlsCheck reserve_server_names(store::Store& store, const std::string& certificate_pem,
                                    const Clock& clock);

}  // namespace hostca
