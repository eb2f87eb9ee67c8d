#include "domain/certificate_request.h"

#include <botan/ber_dec.h>
#include <botan/data_src.h>
#include <botan/der_enc.h>
#include <botan/pem.h>
#include <botan/pkcs10.h>
#include <botan/x509_key.h>

#include <optional>
#include <string>

#include "common/error.h"
#include "pki/openssl_signatures.h"

namespace hostca {

namespace {

// The request as DER (PEM decoded), or nothing if it is neither.
std::optional<std::vector<std::uint8_t>> request_der(const Bytes& der_or_pem) {
  try {
    Botan::DataSource_Memory source(der_or_pem.data(), der_or_pem.size());
    if (Botan::PEM_Code::matches(source)) {
      std::string label;
      const auto decoded = Botan::PEM_Code::decode(source, label);
      return std::vector<std::uint8_t>(decoded.begin(), decoded.end());
    }
    return std::vector<std::uint8_t>(der_or_pem.begin(), der_or_pem.end());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The request's DER SubjectPublicKeyInfo and its algorithm, read without
// loading the key; nullopt if the request is not even shaped like PKCS#10
// (Botan's parser then says why).
std::optional<std::pair<std::vector<std::uint8_t>, Botan::AlgorithmIdentifier>> key_info(
    const std::vector<std::uint8_t>& der) {
  try {
    Botan::BER_Decoder outer(der);
    Botan::BER_Decoder request = outer.start_cons(Botan::SEQUENCE);
    Botan::BER_Decoder info = request.start_cons(Botan::SEQUENCE);
    info.get_next_object();  // version
    info.get_next_object();  // subject
    const Botan::BER_Object spki = info.get_next_object();
    if (spki.type() != Botan::SEQUENCE) return std::nullopt;
    std::vector<std::uint8_t> spki_der;
    Botan::DER_Encoder(spki_der).add_object(spki.type(), spki.get_class(), spki.bits(),
                                            spki.length());
    Botan::AlgorithmIdentifier algorithm;
    Botan::BER_Decoder(spki_der).start_cons(Botan::SEQUENCE).decode(algorithm);
    return std::make_pair(std::move(spki_der), std::move(algorithm));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Only the key types the policy knows get as far as Botan's key loaders, and
// elliptic curves only by name: Botan 2 keeps every curve given by explicit
// parameters in a process-wide registry for good, so each distinct one a
// client sends would cost the server memory until it restarts.
void refuse_unknown_key_algorithm(const Botan::AlgorithmIdentifier& algorithm,
                                  const KeyPolicy& policy) {
  static const Botan::OID kRsa("1.2.840.113549.1.1.1");
  static const Botan::OID kEcPublicKey("1.2.840.10045.2.1");
  static const Botan::OID kEd25519("1.3.101.112");
  const Botan::OID& oid = algorithm.get_oid();
  if (oid == kEcPublicKey) {
    const auto& params = algorithm.get_parameters();
    if (params.empty() || params[0] != Botan::OBJECT_ID) {
      throw invalid_argument(
          "the CSR's key gives its elliptic curve by explicit parameters; name the curve "
          "instead (accepted keys: " +
          policy.accepted() + ")");
    }
    return;
  }
  if (oid == kRsa || oid == kEd25519) return;
  throw invalid_argument("the CSR's key type " + oid.to_formatted_string() +
                         " is not accepted; accepted keys: " + policy.accepted());
}

}  // namespace

CertificateRequest CertificateRequest::parse(const Bytes& der_or_pem, const KeyPolicy& policy) {
  if (der_or_pem.empty()) throw invalid_argument("the CSR is empty: send a PKCS#10 request");
  if (der_or_pem.size() > kMaxCsrBytes) {
    throw invalid_argument("the CSR is " + std::to_string(der_or_pem.size()) + " bytes; at most " +
                           std::to_string(kMaxCsrBytes) + " are accepted");
  }
  const auto der = request_der(der_or_pem);
  const auto key_part = der ? key_info(*der) : std::nullopt;
  if (key_part) refuse_unknown_key_algorithm(key_part->second, policy);
  // The common case, a well-formed request signed by its key, is checked
  // by OpenSSL (five times faster than Botan 2 for ECDSA); anything else
  // goes to Botan's parser, which also says what is wrong.
  if (key_part && check_csr_signature(*der) == CsrSignature::kValid) {
    std::shared_ptr<const Botan::Public_Key> key;
    try {
      key.reset(Botan::X509::load_key(key_part->first));
    } catch (const std::exception&) {
      throw invalid_argument(
          "the CSR's key uses an unknown or unsupported algorithm or curve; "
          "accepted keys: " +
          policy.accepted());
    }
    const KeyFamily family = policy.check(*key);
    return CertificateRequest(std::move(key), key_part->first, family);
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
  // Proof of possession: Botan 2's PKCS10_Request constructor has already
  // verified the request's signature with the key it names (and throws
  // otherwise, mapped above). Checking it again here cost a second
  // signature verification per request, the largest single cost of an
  // enrolment; the unit tests with broken signatures pin the behaviour.
  return CertificateRequest(std::move(key), req->raw_public_key(), family);
}

}  // namespace hostca
