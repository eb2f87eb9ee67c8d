// Initialising a CA in an empty database, and opening it at start. Init is
// one unit of work: the CA, the server's TLS certificate and the first admin
// key appear together or not at all, and an existing CA is never replaced.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "domain/ca_key.h"
#include "domain/certificate_profile.h"
#include "domain/secret_token.h"
#include "domain/signer.h"
#include "store/store.h"

namespace hostca {

struct InitOptions {
  CaKeyAlgorithm algorithm = CaKeyAlgorithm::kEcdsaP256;
  CaCertificateOptions ca;
  std::string passphrase;
  // DNS names and IPv4 addresses the server's TLS certificate is valid for.
  std::vector<std::string> server_names = {"localhost", "127.0.0.1"};
  int crl_shards = 16;
  std::string admin_key_name = "bootstrap";
  CertificateProfile profile;
};

struct InitResult {
  std::string ca_certificate_pem;
  std::string sha256_fingerprint;
  std::string spki_sha256;
  std::string server_certificate_pem;
  std::string server_private_key_pem;  // plaintext PKCS#8: write it 0600
  SecretToken admin_key;
  std::string admin_key_id;
};

InitResult initialize_ca(store::Store& store, const InitOptions& options, const Clock& clock);

struct OpenedCa {
  std::shared_ptr<const Signer> signer;
  int crl_shards = 1;
};

// Loads the CA and decrypts its key. Throws Error(kFailedPrecondition) when
// the database holds no CA or the passphrase is wrong.
OpenedCa open_ca(store::Store& store, const std::string& passphrase);

// A new TLS key and certificate for a server, signed by the opened CA and
// recorded in the database.
struct ServerCertificate {
  std::string certificate_pem;
  std::string private_key_pem;
};
ServerCertificate issue_server_certificate(store::Store& store, const OpenedCa& ca,
                                           const std::vector<std::string>& names,
                                           const CertificateProfile& profile, const Clock& clock);

}  // namespace hostca
