#include "domain/certificate_request.h"

#include <botan/pkcs10.h>
#include <botan/x509_key.h>

#include "common/error.h"

namespace hostca {

CertificateRequest CertificateRequest::parse(const Bytes& der_or_pem, const KeyPolicy& policy) {
  if (der_or_pem.empty()) throw invalid_argument("the CSR is empty: send a PKCS#10 request");
  if (der_or_pem.size() > kMaxCsrBytes) {
    throw invalid_argument("the CSR is " + std::to_string(der_or_pem.size()) + " bytes; at most " +
                           std::to_string(kMaxCsrBytes) + " are accepted");
  }
  std::unique_ptr<Botan::PKCS10_Request> req;
  try {
    req = std::make_unique<Botan::PKCS10_Request>(
        std::vector<std::uint8_t>(der_or_pem.begin(), der_or_pem.end()));
  } catch (const std::exception& e) {
    const std::string why = e.what();
    if (why.find("ignature") != std::string::npos) {
      throw invalid_argument(
          "the CSR's signature does not verify with its own key (proof of possession failed): "
          "sign the request with the private key it names");
    }
    if (why.find("urve") != std::string::npos || why.find("OID") != std::string::npos) {
      throw invalid_argument(
          "the CSR's key uses an unknown or unsupported algorithm or curve; "
          "accepted keys: " +
          policy.accepted());
    }
    throw invalid_argument("the CSR is not a valid PKCS#10 request (DER or PEM)");
  }
  std::shared_ptr<const Botan::Public_Key> key;
  try {
    key.reset(req->subject_public_key());
  } catch (const std::exception&) {
    throw invalid_argument(
        "the CSR's key uses an unknown or unsupported algorithm or curve; "
        "accepted keys: " +
        policy.accepted());
  }
  const KeyFamily family = policy.check(*key);
  bool signature_ok = false;
  try {
    signature_ok = req->check_signature(*key);
  } catch (const std::exception&) {
    signature_ok = false;
  }
  if (!signature_ok) {
    throw invalid_argument(
        "the CSR's signature does not verify with its own key (proof of possession failed): sign "
        "the request with the private key it names");
  }
  return CertificateRequest(std::move(key), req->raw_public_key(), family);
}

}  // namespace hostca
