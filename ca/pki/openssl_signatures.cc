#include "pki/openssl_signatures.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <botan/pkcs8.h>

#include <stdexcept>

namespace hostca {

namespace {

const EVP_MD* digest_named(const std::string& hash) {
  if (hash == "SHA-256") return EVP_sha256();
  if (hash == "SHA-384") return EVP_sha384();
  if (hash == "SHA-512") return EVP_sha512();
  return nullptr;
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct ReqFree {
  void operator()(X509_REQ* r) const { X509_REQ_free(r); }
};

}  // namespace

struct OpenSslSigningKey::State {
  std::unique_ptr<EVP_PKEY, PkeyFree> key;
  const EVP_MD* md = nullptr;
};

OpenSslSigningKey::OpenSslSigningKey(std::unique_ptr<State> state) : state_(std::move(state)) {}
OpenSslSigningKey::~OpenSslSigningKey() = default;

std::unique_ptr<OpenSslSigningKey> OpenSslSigningKey::from(const Botan::Private_Key& key,
                                                           const std::string& hash) {
  const std::string algorithm = key.algo_name();
  if (algorithm != "ECDSA" && algorithm != "RSA") return nullptr;
  const EVP_MD* md = digest_named(hash);
  if (md == nullptr) return nullptr;
  // Botan's secure_vector: locked memory, wiped when it goes.
  const Botan::secure_vector<std::uint8_t> pkcs8 = Botan::PKCS8::BER_encode(key);
  const unsigned char* p = pkcs8.data();
  std::unique_ptr<EVP_PKEY, PkeyFree> loaded(
      d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(pkcs8.size())));
  if (!loaded) {
    ERR_clear_error();
    return nullptr;
  }
  auto state = std::make_unique<State>();
  state->key = std::move(loaded);
  state->md = md;
  return std::unique_ptr<OpenSslSigningKey>(new OpenSslSigningKey(std::move(state)));
}

std::vector<std::uint8_t> OpenSslSigningKey::sign(const std::vector<std::uint8_t>& data) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, state_->md, nullptr, state_->key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, data.data(), data.size()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("OpenSSL could not start the signature");
  }
  std::vector<std::uint8_t> signature(length);
  if (EVP_DigestSign(ctx.get(), signature.data(), &length, data.data(), data.size()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("OpenSSL could not sign");
  }
  signature.resize(length);
  return signature;
}

CsrSignature check_csr_signature(const std::vector<std::uint8_t>& der) {
  const unsigned char* p = der.data();
  std::unique_ptr<X509_REQ, ReqFree> request(
      d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  // Trailing bytes are refused as Botan refuses them.
  if (!request || p != der.data() + der.size()) {
    ERR_clear_error();
    return CsrSignature::kNotParsed;
  }
  EVP_PKEY* key = X509_REQ_get0_pubkey(request.get());
  if (key == nullptr) {
    ERR_clear_error();
    return CsrSignature::kNotParsed;
  }
  const int verified = X509_REQ_verify(request.get(), key);
  ERR_clear_error();
  if (verified == 1) return CsrSignature::kValid;
  // 0: a signature that does not verify; below 0: one OpenSSL could not
  // check (an algorithm it does not know), which Botan then decides.
  return verified == 0 ? CsrSignature::kInvalid : CsrSignature::kNotParsed;
}

}  // namespace hostca
