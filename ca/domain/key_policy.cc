#include "domain/key_policy.h"

#include <botan/ecc_key.h>

#include "common/error.h"

namespace hostca {

void KeyPolicy::validate() const {
  if (!allow_ecdsa_p256 && !allow_ecdsa_p384 && !allow_ed25519 && !allow_rsa) {
    throw invalid_argument(
        "keys.allowed: at least one key type must be allowed (ecdsa-p256, ecdsa-p384, ed25519, "
        "rsa)");
  }
  if (allow_rsa && min_rsa_bits < 2048) {
    throw invalid_argument("keys.min_rsa_bits must be at least 2048");
  }
  if (allow_rsa && max_rsa_bits < min_rsa_bits) {
    throw invalid_argument("keys.max_rsa_bits must not be below keys.min_rsa_bits");
  }
}

std::string KeyPolicy::accepted() const {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
  if (allow_ecdsa_p256) add("ECDSA P-256");
  if (allow_ecdsa_p384) add("ECDSA P-384");
  if (allow_ed25519) add("Ed25519");
  if (allow_rsa) add("RSA " + std::to_string(min_rsa_bits) + "-" + std::to_string(max_rsa_bits));
  return out;
}

KeyFamily KeyPolicy::check(const Botan::Public_Key& key) const {
  const std::string algo = key.algo_name();
  if (algo == "ECDSA") {
    const auto& ec = dynamic_cast<const Botan::EC_PublicKey&>(key);
    const Botan::OID& curve = ec.domain().get_curve_oid();
    if (curve == Botan::OID::from_string("secp256r1") && allow_ecdsa_p256) {
      return KeyFamily::kEcdsaP256;
    }
    if (curve == Botan::OID::from_string("secp384r1") && allow_ecdsa_p384) {
      return KeyFamily::kEcdsaP384;
    }
    const std::string name =
        curve.empty() ? std::string("explicit parameters") : curve.to_formatted_string();
    throw invalid_argument("the CSR's key uses the unsupported elliptic curve " + name +
                           "; accepted keys: " + accepted());
  }
  if (algo == "Ed25519" && allow_ed25519) return KeyFamily::kEd25519;
  if (algo == "RSA" && allow_rsa) {
    const std::size_t bits = key.key_length();
    if (bits < min_rsa_bits) {
      throw invalid_argument("the CSR's RSA key has " + std::to_string(bits) +
                             " bits, too weak; use at least " + std::to_string(min_rsa_bits) +
                             " bits (accepted keys: " + accepted() + ")");
    }
    if (bits > max_rsa_bits) {
      throw invalid_argument("the CSR's RSA key has " + std::to_string(bits) + " bits; at most " +
                             std::to_string(max_rsa_bits) + " are accepted");
    }
    return KeyFamily::kRsa;
  }
  throw invalid_argument("the CSR's key type " + algo +
                         " is not accepted; accepted keys: " + accepted());
}

}  // namespace hostca
