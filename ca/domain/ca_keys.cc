#include "domain/ca_keys.h"

#include "common/error.h"
#include "domain/ca_key.h"
#include "pki/keys.h"
#include "pki/pkcs11_key.h"

namespace hostca {

namespace {
std::optional<Botan::X509_Certificate> certificate_of(const Bytes& der) {
  if (der.empty()) return std::nullopt;
  return Botan::X509_Certificate(std::vector<std::uint8_t>(der.begin(), der.end()));
}
}  // namespace

CaKeyState ca_key_state_from(const std::string& text) {
  if (text == "next") return CaKeyState::kNext;
  if (text == "active") return CaKeyState::kActive;
  if (text == "retiring") return CaKeyState::kRetiring;
  if (text == "retired") return CaKeyState::kRetired;
  throw internal_error("unknown CA key state '" + text + "'");
}

const char* to_string(CaKeyState state) {
  switch (state) {
    case CaKeyState::kNext:
      return "next";
    case CaKeyState::kActive:
      return "active";
    case CaKeyState::kRetiring:
      return "retiring";
    case CaKeyState::kRetired:
      return "retired";
  }
  return "active";
}

TimePoint CaKey::not_after() const {
  return TimePoint(std::chrono::duration_cast<Duration>(
      certificate().not_after().to_std_timepoint().time_since_epoch()));
}

void CaKeySecrets::wipe() {
  passphrase.assign(passphrase.size(), '\0');
  pkcs11_pin.assign(pkcs11_pin.size(), '\0');
}

std::shared_ptr<const Signer> open_token_key(const store::CaKeyRow& row,
                                             const CaKeySecrets& secrets) {
  if (secrets.pkcs11_pin.empty()) {
    throw failed_precondition("CA key " + std::to_string(row.generation) +
                              " is in the PKCS#11 token \"" + row.pkcs11_token_label +
                              "\": give the token's PIN with --pkcs11-pin-file (pkcs11.pin_file) "
                              "or $HOSTCA_PKCS11_PIN");
  }
  Pkcs11KeyOptions options;
  options.module_path = row.pkcs11_module;
  options.token_label = row.pkcs11_token_label;
  options.key_label = row.pkcs11_key_label;
  options.pin = secrets.pkcs11_pin;
  options.max_sessions = secrets.pkcs11_sessions;
  Botan::X509_Certificate cert(
      std::vector<std::uint8_t>(row.certificate_der.begin(), row.certificate_der.end()));
  return std::make_shared<Pkcs11Signer>(Pkcs11Key::open(options), std::move(cert));
}

void check_token_key_options(const Pkcs11KeyOptions& options) {
  if (options.key_label.empty()) throw invalid_argument("the PKCS#11 key label is empty");
  if (options.token_label.empty()) throw invalid_argument("the PKCS#11 token label is empty");
  // Recorded, and loaded by every server from wherever it runs: a path
  // relative to this command's folder would name another file there.
  const std::string& module = options.module_path;
  if (module.empty() || (module.front() != '/' && module.find('/') != std::string::npos)) {
    throw invalid_argument(
        "give the PKCS#11 module as an absolute path (or a bare library name "
        "the loader finds): '" +
        module + "' is recorded and every server loads it from there");
  }
}

std::shared_ptr<const Pkcs11Key> open_or_make_token_key(const Pkcs11KeyOptions& options,
                                                        std::optional<CaKeyAlgorithm> wanted,
                                                        bool& made) {
  Pkcs11KeyAlgorithm algorithm = Pkcs11KeyAlgorithm::kEcdsaP256;
  switch (wanted.value_or(CaKeyAlgorithm::kEcdsaP256)) {
    case CaKeyAlgorithm::kEcdsaP256:
      break;
    case CaKeyAlgorithm::kEcdsaP384:
      algorithm = Pkcs11KeyAlgorithm::kEcdsaP384;
      break;
    case CaKeyAlgorithm::kRsa3072:
      algorithm = Pkcs11KeyAlgorithm::kRsa3072;
      break;
    default:
      throw invalid_argument(
          "a CA key in a PKCS#11 token is ecdsa-p256, ecdsa-p384 or rsa-3072, "
          "not " +
          to_string(*wanted));
  }
  check_token_key_options(options);
  auto key = Pkcs11Key::open_or_generate(options, algorithm, made);
  if (!made && wanted && key->algorithm() != algorithm) {
    throw failed_precondition("the PKCS#11 token \"" + options.token_label + "\" holds \"" +
                              options.key_label + "\" as an " + key->algorithm_name() +
                              " key, not " + to_string(*wanted) +
                              ": leave out --key-algorithm to use it, or give another label");
  }
  return key;
}

CaKeyRing CaKeyRing::open(const std::vector<store::CaKeyRow>& rows, const CaKeySecrets& secrets,
                          Botan::RandomNumberGenerator& rng, const CaKeyRing* known) {
  CaKeyRing ring;
  for (const auto& row : rows) {
    CaKey key;
    key.generation = row.generation;
    key.state = ca_key_state_from(row.state);
    key.emergency = row.emergency;
    key.key_algorithm = row.key_algorithm;
    if (!row.pkcs11_key_label.empty()) {
      key.held_in = "pkcs11:" + row.pkcs11_token_label + "/" + row.pkcs11_key_label;
    }
    const CaKey* held = known ? known->find(row.generation) : nullptr;
    if (held && held->sha256_fingerprint == row.sha256_fingerprint) {
      key.signer = held->signer;
    } else if (!row.pkcs11_key_label.empty()) {
      key.signer = open_token_key(row, secrets);
    } else {
      if (secrets.passphrase.empty()) {
        throw failed_precondition("CA key " + std::to_string(row.generation) +
                                  " is encrypted with the CA passphrase: give --passphrase-file "
                                  "(ca.passphrase_file) or set $HOSTCA_PASSPHRASE");
      }
      Botan::X509_Certificate cert(
          std::vector<std::uint8_t>(row.certificate_der.begin(), row.certificate_der.end()));
      std::shared_ptr<const Botan::Private_Key> private_key =
          decrypt_private_key(row.encrypted_private_key_pem, secrets.passphrase);
      key.signer = std::make_shared<SoftwareSigner>(std::move(private_key), std::move(cert), rng);
    }
    key.new_with_old = certificate_of(row.new_with_old_der);
    key.old_with_new = certificate_of(row.old_with_new_der);
    key.sha256_fingerprint = row.sha256_fingerprint;
    key.spki_sha256 = row.spki_sha256;
    ring.keys_.push_back(std::move(key));
  }
  ring.active();  // throws without one
  return ring;
}

CaKeyRing CaKeyRing::single(std::shared_ptr<const Signer> signer) {
  CaKeyRing ring;
  CaKey key;
  key.sha256_fingerprint = certificate_fingerprint(signer->ca_certificate());
  key.spki_sha256 = spki_fingerprint(signer->ca_certificate());
  key.signer = std::move(signer);
  ring.keys_.push_back(std::move(key));
  return ring;
}

const CaKey& CaKeyRing::active() const {
  for (const auto& k : keys_) {
    if (k.state == CaKeyState::kActive) return k;
  }
  throw failed_precondition("the database holds no active CA key: run 'hostca-server init'");
}

const CaKey* CaKeyRing::find(int generation) const {
  for (const auto& k : keys_) {
    if (k.generation == generation) return &k;
  }
  return nullptr;
}

const CaKey* CaKeyRing::issuer_of(const Botan::X509_Certificate& cert) const {
  for (const auto& k : keys_) {
    if (!(cert.issuer_dn() == k.certificate().subject_dn())) continue;
    try {
      const std::unique_ptr<Botan::Public_Key> public_key(k.certificate().subject_public_key());
      if (cert.check_signature(*public_key)) return &k;
    } catch (const std::exception&) {
      // Not this key's signature.
    }
  }
  return nullptr;
}

std::vector<const CaKey*> CaKeyRing::announced() const {
  std::vector<const CaKey*> out;
  for (const auto& k : keys_) {
    if (k.state != CaKeyState::kRetired) out.push_back(&k);
  }
  return out;
}

std::vector<int> CaKeyRing::publishing(TimePoint now) const {
  std::vector<int> out;
  for (const auto& k : keys_) {
    if (k.state != CaKeyState::kRetired || now < k.not_after()) out.push_back(k.generation);
  }
  return out;
}

std::string ca_keys_version(const std::vector<store::CaKeyRow>& rows) {
  std::string out;
  for (const auto& r : rows) out += std::to_string(r.generation) + ":" + r.state + ";";
  return out;
}

std::string CaKeyRing::version() const {
  std::string out;
  for (const auto& k : keys_) {
    out += std::to_string(k.generation) + ":" + to_string(k.state) + ";";
  }
  return out;
}

}  // namespace hostca
