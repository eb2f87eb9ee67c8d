#include "pki/openssl_signatures.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

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
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
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

SignatureCheck check_ecdsa_signature(const std::string& curve,
                                     const std::vector<std::uint8_t>& point,
                                     const std::string& hash, const std::vector<std::uint8_t>& data,
                                     const std::vector<std::uint8_t>& signature) {
  const char* group = curve == "secp256r1"   ? "prime256v1"
                      : curve == "secp384r1" ? "secp384r1"
                                             : nullptr;
  const EVP_MD* md = digest_named(hash);
  if (group == nullptr || md == nullptr || point.empty()) return SignatureCheck::kNotChecked;
  // A context per call: one kept per thread would be freed when its
  // thread ends, which may be after OpenSSL's own clean-up at exit.
  const std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> import(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!import) {
    ERR_clear_error();
    return SignatureCheck::kNotChecked;
  }
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                        const_cast<std::uint8_t*>(point.data()), point.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata_init(import.get()) != 1 ||
      EVP_PKEY_fromdata(import.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    ERR_clear_error();
    return SignatureCheck::kNotChecked;
  }
  const std::unique_ptr<EVP_PKEY, PkeyFree> key(raw);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key.get()) != 1) {
    ERR_clear_error();
    return SignatureCheck::kNotChecked;
  }
  const int verified =
      EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), data.data(), data.size());
  ERR_clear_error();
  return verified == 1 ? SignatureCheck::kValid : SignatureCheck::kInvalid;
}

}  // namespace hostca
