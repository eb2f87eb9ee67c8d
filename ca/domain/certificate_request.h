// A PKCS#10 request whose signature was checked (proof of possession) and
// whose key fits the key policy. The requested subject and extensions are
// ignored: the profile alone decides what the certificate says.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <botan/pk_keys.h>

#include "common/bytes.h"
#include "domain/key_policy.h"

namespace hostca {

constexpr std::size_t kMaxCsrBytes = 16 * 1024;

class CertificateRequest {
 public:
  // Accepts DER or PEM. Throws Error(kInvalidArgument) with what to fix.
  static CertificateRequest parse(const Bytes& der_or_pem, const KeyPolicy& policy);

  const Botan::Public_Key& public_key() const { return *key_; }
  // DER SubjectPublicKeyInfo.
  const std::vector<std::uint8_t>& spki() const { return spki_; }
  KeyFamily family() const { return family_; }

 private:
  CertificateRequest(std::shared_ptr<const Botan::Public_Key> key, std::vector<std::uint8_t> spki,
                     KeyFamily family)
      : key_(std::move(key)), spki_(std::move(spki)), family_(family) {}
  std::shared_ptr<const Botan::Public_Key> key_;
  std::vector<std::uint8_t> spki_;
  KeyFamily family_;
};

}  // namespace hostca
