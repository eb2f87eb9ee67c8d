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

// A DER object's whole encoding (tag, length, contents).
std::vector<std::uint8_t> encoding_of(const Botan::BER_Object& object) {
  std::vector<std::uint8_t> out;
  Botan::DER_Encoder(out).add_object(object.type(), object.get_class(), object.bits(),
                                     object.length());
  return out;
}

// A PKCS#10 request taken apart (RFC 2986) without loading its key or
// checking its signature.
struct RequestParts {
  std::vector<std::uint8_t> info;  // DER CertificationRequestInfo: what is signed
  Botan::AlgorithmIdentifier signature_algorithm;
  std::vector<std::uint8_t> signature;
  std::vector<std::uint8_t> spki;  // DER SubjectPublicKeyInfo
  Botan::AlgorithmIdentifier key_algorithm;
  std::vector<std::uint8_t> key;  // the subjectPublicKey's bits
};

// nullopt if the request is not shaped like PKCS#10 (Botan's parser then
// says why).
std::optional<RequestParts> request_parts(const std::vector<std::uint8_t>& der) {
  try {
    RequestParts parts;
    Botan::BER_Decoder outer(der);
    Botan::BER_Decoder request = outer.start_cons(Botan::SEQUENCE);
    const Botan::BER_Object info = request.get_next_object();
    if (!info.is_a(Botan::SEQUENCE, Botan::CONSTRUCTED)) return std::nullopt;
    parts.info = encoding_of(info);
    request.decode(parts.signature_algorithm).decode(parts.signature, Botan::BIT_STRING);
    request.verify_end();
    outer.verify_end();

    Botan::BER_Decoder fields(info.bits(), info.length());
    std::size_t version = 1;
    fields.decode(version);
    if (version != 0) return std::nullopt;
    // The subject is ignored (the profile decides what the certificate
    // says); it only has to be a Name's SEQUENCE.
    if (!fields.get_next_object().is_a(Botan::SEQUENCE, Botan::CONSTRUCTED)) return std::nullopt;
    const Botan::BER_Object spki = fields.get_next_object();
    if (!spki.is_a(Botan::SEQUENCE, Botan::CONSTRUCTED)) return std::nullopt;
    parts.spki = encoding_of(spki);
    Botan::BER_Decoder(spki.bits(), spki.length())
        .decode(parts.key_algorithm)
        .decode(parts.key, Botan::BIT_STRING)
        .verify_end();
    // attributes [0] IMPLICIT SET OF Attribute (ignored, as the subject).
    const Botan::BER_Object attributes = fields.get_next_object();
    if (attributes.is_set() &&
        !attributes.is_a(0, Botan::ASN1_Tag(Botan::CONTEXT_SPECIFIC | Botan::CONSTRUCTED))) {
      return std::nullopt;
    }
    fields.verify_end();
    return parts;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The named curve of an elliptic-curve key ("secp256r1"), or "".
std::string curve_of(const Botan::AlgorithmIdentifier& key_algorithm) {
  static const Botan::OID kEcPublicKey("1.2.840.10045.2.1");
  static const Botan::OID kP256("1.2.840.10045.3.1.7");
  static const Botan::OID kP384("1.3.132.0.34");
  if (key_algorithm.get_oid() != kEcPublicKey) return "";
  try {
    Botan::OID curve;
    Botan::BER_Decoder(key_algorithm.get_parameters()).decode(curve).verify_end();
    if (curve == kP256) return "secp256r1";
    if (curve == kP384) return "secp384r1";
  } catch (const std::exception&) {
  }
  return "";
}

// The hash of an ECDSA signature algorithm ("SHA-256"), or "".
std::string ecdsa_hash_of(const Botan::AlgorithmIdentifier& signature_algorithm) {
  static const Botan::OID kEcdsaSha256("1.2.840.10045.4.3.2");
  static const Botan::OID kEcdsaSha384("1.2.840.10045.4.3.3");
  static const Botan::OID kEcdsaSha512("1.2.840.10045.4.3.4");
  const Botan::OID& oid = signature_algorithm.get_oid();
  if (oid == kEcdsaSha256) return "SHA-256";
  if (oid == kEcdsaSha384) return "SHA-384";
  if (oid == kEcdsaSha512) return "SHA-512";
  return "";
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

Error unsupported_key(const KeyPolicy& policy) {
  return invalid_argument(
      "the CSR's key uses an unknown or unsupported algorithm or curve; accepted keys: " +
      policy.accepted());
}

// The key `load` returns (a new Botan key), or the error for a key Botan
// cannot load.
template <typename Load>
std::shared_ptr<const Botan::Public_Key> loaded_key(Load&& load, const KeyPolicy& policy) {
  try {
    return std::shared_ptr<const Botan::Public_Key>(load());
  } catch (const std::exception&) {
    throw unsupported_key(policy);
  }
}

}  // namespace

CertificateRequest CertificateRequest::parse(const Bytes& der_or_pem, const KeyPolicy& policy) {
  if (der_or_pem.empty()) throw invalid_argument("the CSR is empty: send a PKCS#10 request");
  if (der_or_pem.size() > kMaxCsrBytes) {
    throw invalid_argument("the CSR is " + std::to_string(der_or_pem.size()) + " bytes; at most " +
                           std::to_string(kMaxCsrBytes) + " are accepted");
  }
  const auto der = request_der(der_or_pem);
  const auto parts = der ? request_parts(*der) : std::nullopt;
  if (parts) refuse_unknown_key_algorithm(parts->key_algorithm, policy);
  // The common case, an ECDSA P-256 or P-384 request signed by its key, is
  // checked by OpenSSL (four times faster than Botan 2); everything else
  // goes to Botan's parser, which also says what is wrong.
  if (parts && check_ecdsa_signature(curve_of(parts->key_algorithm), parts->key,
                                     ecdsa_hash_of(parts->signature_algorithm), parts->info,
                                     parts->signature) == SignatureCheck::kValid) {
    auto key = loaded_key([&] { return Botan::X509::load_key(parts->spki); }, policy);
    const KeyFamily family = policy.check(*key);
    return CertificateRequest(std::move(key), parts->spki, family);
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
      throw unsupported_key(policy);
    }
    throw invalid_argument("the CSR is not a valid PKCS#10 request (DER or PEM)");
  }
  auto key = loaded_key([&] { return req->subject_public_key(); }, policy);
  const KeyFamily family = policy.check(*key);
  // Proof of possession: Botan 2's PKCS10_Request constructor has already
  // verified the request's signature with the key it names (and throws
  // otherwise, mapped above). Checking it again here cost a second
  // signature verification per request, the largest single cost of an
  // enrolment; the unit tests with broken signatures pin the behaviour.
  return CertificateRequest(std::move(key), req->raw_public_key(), family);
}

}  // namespace hostca
