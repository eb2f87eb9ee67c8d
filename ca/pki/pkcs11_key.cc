#include "pki/pkcs11_key.h"

// The GNU names of p11-kit's header (ck_rv_t, struct ck_attribute ...): its
// compatibility names are macros (value, label, flags ...) that would
// rename identifiers of every file that includes it.
#define CRYPTOKI_GNU 1
#include <p11-kit/pkcs11.h>

#include <botan/asn1_obj.h>
#include <botan/ber_dec.h>
#include <botan/bigint.h>
#include <botan/der_enc.h>
#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/hash.h>
#include <botan/rsa.h>
#include <botan/x509_key.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "common/error.h"

namespace hostca {

namespace {

// What every call that found the token gone says after its cause.
constexpr const char* kTryLater =
    ": the HSM is unreachable or was reset; nothing was issued or published; try again when it "
    "is back";

std::string rv_text(ck_rv_t rv) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKR 0x%lx", rv);
  return buf;
}

// Errors that say the token or our sessions went away: the call is
// UNAVAILABLE, and the sessions are opened again on the next one.
bool device_gone(ck_rv_t rv) {
  switch (rv) {
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_REMOVED:
    case CKR_DEVICE_MEMORY:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_GENERAL_ERROR:
    case CKR_FUNCTION_FAILED:
      return true;
    default:
      return false;
  }
}

std::string padded_label(const unsigned char (&label)[32]) {
  std::string s(reinterpret_cast<const char*>(label), sizeof label);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

Botan::OID curve_of(Pkcs11KeyAlgorithm a) {
  return Botan::OID::from_string(a == Pkcs11KeyAlgorithm::kEcdsaP384 ? "secp384r1" : "secp256r1");
}

}  // namespace

// The module: loaded once per path and process (C_Initialize may run only
// once per process for a module), finalised when the last key lets go.
class Pkcs11Module {
 public:
  static std::shared_ptr<Pkcs11Module> load(const std::string& path) {
    static std::mutex mu;
    static std::map<std::string, std::weak_ptr<Pkcs11Module>> loaded;
    std::lock_guard<std::mutex> lock(mu);
    if (auto m = loaded[path].lock()) return m;
    auto m = std::shared_ptr<Pkcs11Module>(new Pkcs11Module(path));
    loaded[path] = m;
    return m;
  }
  ~Pkcs11Module() {
    if (f_) f_->C_Finalize(nullptr);
    if (handle_) dlclose(handle_);
  }
  ck_function_list* f() const { return f_; }
  const std::string& path() const { return path_; }

 private:
  explicit Pkcs11Module(std::string path) : path_(std::move(path)) {
    handle_ = dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
      throw failed_precondition("cannot load the PKCS#11 module " + path_ + ": " + dlerror());
    }
    auto get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(handle_, "C_GetFunctionList"));
    if (!get || get(&f_) != CKR_OK || !f_) {
      dlclose(handle_);
      handle_ = nullptr;
      f_ = nullptr;
      throw failed_precondition(path_ + " is not a PKCS#11 module (no C_GetFunctionList)");
    }
    ck_c_initialize_args args{};
    args.flags = CKF_OS_LOCKING_OK;
    const ck_rv_t rv = f_->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      f_ = nullptr;
      dlclose(handle_);
      handle_ = nullptr;
      throw failed_precondition("the PKCS#11 module " + path_ + " did not initialise (" +
                                rv_text(rv) + ")");
    }
  }
  std::string path_;
  void* handle_ = nullptr;
  ck_function_list* f_ = nullptr;
};

// A session borrowed from the pool for one signature; returned on scope
// exit, or closed if the token failed under it.
class Pkcs11Key::Lease {
 public:
  explicit Lease(const Pkcs11Key& key) : key_(key), session_(key.acquire()) {}
  ~Lease() { key_.release(session_, broken_); }
  unsigned long session() const { return session_; }
  void broken() { broken_ = true; }

 private:
  const Pkcs11Key& key_;
  unsigned long session_;
  bool broken_ = false;
};

Pkcs11Key::Pkcs11Key(std::shared_ptr<Pkcs11Module> module, Pkcs11KeyOptions options)
    : module_(std::move(module)), options_(std::move(options)) {
  if (options_.max_sessions < 1 || options_.max_sessions > 1024) {
    throw invalid_argument("PKCS#11 sessions must be between 1 and 1024");
  }
  if (!find_slot()) {
    throw failed_precondition("no token labelled \"" + options_.token_label + "\" in " +
                              module_->path() + " (softhsm2-util --show-slots lists them)");
  }
  // A session, logged in, proves the PIN now rather than at the first signature.
  idle_.push_back(open_session());
  open_ = 1;
}

bool Pkcs11Key::find_slot() const {
  auto* f = module_->f();
  // Listing the slots again is also how a module notices a token that came
  // back (SoftHSM2 rereads its token folder).
  unsigned long count = 0;
  if (f->C_GetSlotList(1, nullptr, &count) != CKR_OK) return false;
  std::vector<ck_slot_id_t> slots(count);
  if (count > 0 && f->C_GetSlotList(1, slots.data(), &count) != CKR_OK) return false;
  slots.resize(count);
  for (ck_slot_id_t s : slots) {
    ck_token_info info{};
    if (f->C_GetTokenInfo(s, &info) == CKR_OK && padded_label(info.label) == options_.token_label) {
      std::lock_guard<std::mutex> lock(slot_mu_);
      slot_ = s;
      return true;
    }
  }
  return false;
}

Pkcs11Key::~Pkcs11Key() {
  for (unsigned long s : idle_) module_->f()->C_CloseSession(s);
}

unsigned long Pkcs11Key::open_session() const {
  auto* f = module_->f();
  ck_session_handle_t session = 0;
  const auto slot = [&] {
    std::lock_guard<std::mutex> lock(slot_mu_);
    return slot_;
  };
  ck_rv_t rv =
      f->C_OpenSession(slot(), CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session);
  if ((device_gone(rv) || rv == CKR_SLOT_ID_INVALID) && find_slot()) {
    // The token went away and may be back, in another slot.
    rv = f->C_OpenSession(slot(), CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session);
  }
  if (rv != CKR_OK) {
    if (device_gone(rv)) {
      throw unavailable("the PKCS#11 token \"" + options_.token_label + "\" is not reachable (" +
                        rv_text(rv) + ")" + kTryLater);
    }
    throw failed_precondition("cannot open a session on the PKCS#11 token \"" +
                              options_.token_label + "\" (" + rv_text(rv) + ")");
  }
  // Logging in is per application and token: once for all sessions.
  const ck_rv_t login = f->C_Login(
      session, CKU_USER, reinterpret_cast<unsigned char*>(const_cast<char*>(options_.pin.data())),
      options_.pin.size());
  if (login != CKR_OK && login != CKR_USER_ALREADY_LOGGED_IN) {
    f->C_CloseSession(session);
    if (login == CKR_PIN_INCORRECT || login == CKR_PIN_LOCKED || login == CKR_PIN_INVALID ||
        login == CKR_PIN_LEN_RANGE) {
      throw failed_precondition("the PKCS#11 token \"" + options_.token_label +
                                "\" refused the PIN (" + rv_text(login) +
                                "): check the PIN file or $HOSTCA_PKCS11_PIN");
    }
    if (device_gone(login)) {
      throw unavailable("the PKCS#11 token \"" + options_.token_label + "\" is not reachable (" +
                        rv_text(login) + ")" + kTryLater);
    }
    throw failed_precondition("cannot log in to the PKCS#11 token \"" + options_.token_label +
                              "\" (" + rv_text(login) + ")");
  }
  return session;
}

unsigned long Pkcs11Key::acquire() const {
  std::unique_lock<std::mutex> lock(mu_);
  free_.wait(lock, [&] { return !idle_.empty() || open_ < options_.max_sessions; });
  if (!idle_.empty()) {
    const unsigned long s = idle_.back();
    idle_.pop_back();
    return s;
  }
  ++open_;
  lock.unlock();
  try {
    return open_session();
  } catch (...) {
    lock.lock();
    --open_;
    free_.notify_one();
    throw;
  }
}

void Pkcs11Key::release(unsigned long session, bool broken) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (broken) {
    // The token went away under this session: close every idle one too,
    // so that the next calls open sessions (and log in) afresh.
    module_->f()->C_CloseSession(session);
    for (unsigned long s : idle_) module_->f()->C_CloseSession(s);
    open_ -= 1 + idle_.size();
    idle_.clear();
    key_handle_.reset();  // a token that comes back may number its objects anew
  } else {
    idle_.push_back(session);
  }
  free_.notify_one();
}

std::string Pkcs11Key::algorithm_name() const {
  switch (algorithm_) {
    case Pkcs11KeyAlgorithm::kEcdsaP256:
      return "ecdsa-p256";
    case Pkcs11KeyAlgorithm::kEcdsaP384:
      return "ecdsa-p384";
    case Pkcs11KeyAlgorithm::kRsa3072:
      return "rsa-3072";
  }
  return "ecdsa-p256";
}

std::string Pkcs11Key::hash_name() const {
  return algorithm_ == Pkcs11KeyAlgorithm::kEcdsaP384 ? "SHA-384" : "SHA-256";
}

namespace {

// One attribute of an object, read in two calls (size, then value).
std::vector<std::uint8_t> attribute(ck_function_list* f, ck_session_handle_t s,
                                    ck_object_handle_t o, ck_attribute_type_t type) {
  ck_attribute a{type, nullptr, 0};
  if (f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK ||
      a.value_len == static_cast<unsigned long>(-1)) {
    throw failed_precondition("the PKCS#11 key's attribute 0x" + std::to_string(type) +
                              " cannot be read");
  }
  std::vector<std::uint8_t> out(a.value_len);
  a.value = out.data();
  if (f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK) {
    throw failed_precondition("the PKCS#11 key's attribute cannot be read");
  }
  out.resize(a.value_len);
  return out;
}

std::vector<ck_object_handle_t> find(ck_function_list* f, ck_session_handle_t s,
                                     ck_object_class_t cls, const std::string& label) {
  ck_attribute query[] = {
      {CKA_CLASS, &cls, sizeof cls},
      {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
  };
  if (f->C_FindObjectsInit(s, query, 2) != CKR_OK) {
    throw failed_precondition("cannot search the PKCS#11 token");
  }
  std::vector<ck_object_handle_t> out(16);
  unsigned long n = 0;
  const ck_rv_t rv = f->C_FindObjects(s, out.data(), out.size(), &n);
  f->C_FindObjectsFinal(s);
  if (rv != CKR_OK) throw failed_precondition("cannot search the PKCS#11 token");
  out.resize(n);
  return out;
}

}  // namespace

void Pkcs11Key::find_key() {
  Lease lease(*this);
  auto* f = module_->f();
  const auto keys = find(f, lease.session(), CKO_PRIVATE_KEY, options_.key_label);
  const auto publics = find(f, lease.session(), CKO_PUBLIC_KEY, options_.key_label);
  if (keys.empty()) {
    throw failed_precondition("no private key labelled \"" + options_.key_label +
                              "\" on the PKCS#11 token \"" + options_.token_label + "\"");
  }
  if (keys.size() > 1) {
    throw failed_precondition("more than one private key is labelled \"" + options_.key_label +
                              "\" on the PKCS#11 token \"" + options_.token_label +
                              "\": give each CA key a label of its own");
  }
  if (publics.size() != 1) {
    throw failed_precondition("the PKCS#11 key \"" + options_.key_label +
                              "\" has no single public key object of the same label");
  }
  const auto type_bytes = attribute(f, lease.session(), keys[0], CKA_KEY_TYPE);
  ck_key_type_t type = 0;
  std::copy_n(type_bytes.begin(), std::min(type_bytes.size(), sizeof type),
              reinterpret_cast<std::uint8_t*>(&type));
  if (type == CKK_EC) {
    const auto params = attribute(f, lease.session(), publics[0], CKA_EC_PARAMS);
    Botan::OID oid;
    Botan::BER_Decoder(params).decode(oid);
    if (oid == Botan::OID::from_string("secp256r1")) {
      algorithm_ = Pkcs11KeyAlgorithm::kEcdsaP256;
    } else if (oid == Botan::OID::from_string("secp384r1")) {
      algorithm_ = Pkcs11KeyAlgorithm::kEcdsaP384;
    } else {
      throw failed_precondition("the PKCS#11 key \"" + options_.key_label +
                                "\" is on a curve hostca does not sign with (P-256 or P-384)");
    }
    // CKA_EC_POINT: the point as a DER OCTET STRING.
    std::vector<std::uint8_t> point;
    Botan::BER_Decoder(attribute(f, lease.session(), publics[0], CKA_EC_POINT))
        .decode(point, Botan::OCTET_STRING);
    const Botan::EC_Group group(oid);
    const Botan::ECDSA_PublicKey pub(group, group.OS2ECP(point));
    spki_ = Botan::X509::BER_encode(pub);
    signature_half_ = group.get_order_bytes();
  } else if (type == CKK_RSA) {
    const Botan::BigInt n(attribute(f, lease.session(), publics[0], CKA_MODULUS));
    const Botan::BigInt e(attribute(f, lease.session(), publics[0], CKA_PUBLIC_EXPONENT));
    if (n.bits() != 3072) {
      throw failed_precondition("the PKCS#11 key \"" + options_.key_label + "\" is RSA of " +
                                std::to_string(n.bits()) + " bits; hostca signs with RSA 3072");
    }
    algorithm_ = Pkcs11KeyAlgorithm::kRsa3072;
    spki_ = Botan::X509::BER_encode(Botan::RSA_PublicKey(n, e));
  } else {
    throw failed_precondition("the PKCS#11 key \"" + options_.key_label +
                              "\" is neither ECDSA nor RSA");
  }
}

void Pkcs11Key::check_access(const Pkcs11KeyOptions& options) {
  Pkcs11Key(Pkcs11Module::load(options.module_path), options);
}

std::shared_ptr<Pkcs11Key> Pkcs11Key::open(const Pkcs11KeyOptions& options) {
  auto key =
      std::shared_ptr<Pkcs11Key>(new Pkcs11Key(Pkcs11Module::load(options.module_path), options));
  key->find_key();
  return key;
}

bool Pkcs11Key::label_taken() const {
  Lease lease(*this);
  auto* f = module_->f();
  return !find(f, lease.session(), CKO_PRIVATE_KEY, options_.key_label).empty() ||
         !find(f, lease.session(), CKO_PUBLIC_KEY, options_.key_label).empty();
}

void Pkcs11Key::make_pair(Pkcs11KeyAlgorithm algorithm) {
  const Pkcs11KeyOptions& options = options_;
  Lease lease(*this);
  auto* f = module_->f();
  unsigned char yes = 1, no = 0;
  std::string label = options.key_label;
  std::vector<std::uint8_t> curve;
  unsigned long bits = 3072;
  std::uint8_t exponent[] = {0x01, 0x00, 0x01};
  std::vector<ck_attribute> pub = {
      {CKA_TOKEN, &yes, 1},
      {CKA_VERIFY, &yes, 1},
      {CKA_ENCRYPT, &no, 1},
      {CKA_WRAP, &no, 1},
      {CKA_LABEL, label.data(), label.size()},
      {CKA_ID, label.data(), label.size()},
  };
  std::vector<ck_attribute> priv = {
      {CKA_TOKEN, &yes, 1},
      {CKA_PRIVATE, &yes, 1},
      {CKA_SENSITIVE, &yes, 1},
      {CKA_EXTRACTABLE, &no, 1},
      {CKA_SIGN, &yes, 1},
      // A CA key signs and does nothing else.
      {CKA_DECRYPT, &no, 1},
      {CKA_UNWRAP, &no, 1},
      {CKA_DERIVE, &no, 1},
      {CKA_LABEL, label.data(), label.size()},
      {CKA_ID, label.data(), label.size()},
  };
  ck_mechanism mech{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  if (algorithm == Pkcs11KeyAlgorithm::kRsa3072) {
    mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
    pub.push_back({CKA_MODULUS_BITS, &bits, sizeof bits});
    pub.push_back({CKA_PUBLIC_EXPONENT, exponent, sizeof exponent});
  } else {
    Botan::DER_Encoder(curve).encode(curve_of(algorithm));
    pub.push_back({CKA_EC_PARAMS, curve.data(), curve.size()});
  }
  ck_object_handle_t pub_handle = 0, priv_handle = 0;
  const ck_rv_t rv = f->C_GenerateKeyPair(lease.session(), &mech, pub.data(), pub.size(),
                                          priv.data(), priv.size(), &pub_handle, &priv_handle);
  if (rv != CKR_OK) {
    if (device_gone(rv)) lease.broken();
    throw failed_precondition("the PKCS#11 token \"" + options.token_label +
                              "\" did not make the key (" + rv_text(rv) + ")");
  }
}

std::shared_ptr<Pkcs11Key> Pkcs11Key::generate(const Pkcs11KeyOptions& options,
                                               Pkcs11KeyAlgorithm algorithm) {
  auto key =
      std::shared_ptr<Pkcs11Key>(new Pkcs11Key(Pkcs11Module::load(options.module_path), options));
  if (key->label_taken()) {
    throw failed_precondition("the PKCS#11 token \"" + options.token_label +
                              "\" already holds a key labelled \"" + options.key_label +
                              "\": give a new label, or use that key without generating one");
  }
  key->make_pair(algorithm);
  key->find_key();
  return key;
}

std::shared_ptr<Pkcs11Key> Pkcs11Key::open_or_generate(const Pkcs11KeyOptions& options,
                                                       Pkcs11KeyAlgorithm algorithm, bool& made) {
  auto key =
      std::shared_ptr<Pkcs11Key>(new Pkcs11Key(Pkcs11Module::load(options.module_path), options));
  made = !key->label_taken();
  if (made) key->make_pair(algorithm);
  key->find_key();
  return key;
}

std::vector<std::uint8_t> Pkcs11Key::sign(const std::vector<std::uint8_t>& data) const {
  const bool ecdsa = algorithm_ != Pkcs11KeyAlgorithm::kRsa3072;
  std::vector<std::uint8_t> input;
  ck_mechanism mech{CKM_SHA256_RSA_PKCS, nullptr, 0};
  if (ecdsa) {
    // The token signs the digest; the hash is computed here.
    mech.mechanism = CKM_ECDSA;
    auto hash = Botan::HashFunction::create_or_throw(hash_name());
    const auto digest = hash->process(data);
    input.assign(digest.begin(), digest.end());
  } else {
    input = data;
  }
  Lease lease(*this);
  auto* f = module_->f();
  std::vector<std::uint8_t> out;
  const auto fail = [&](ck_rv_t rv) {
    if (device_gone(rv)) {
      lease.broken();
      throw unavailable("the PKCS#11 token \"" + options_.token_label + "\" did not sign (" +
                        rv_text(rv) + ")" + kTryLater);
    }
    throw internal_error("the PKCS#11 token \"" + options_.token_label + "\" refused to sign (" +
                         rv_text(rv) + ")");
  };
  // The key's handle, found once: a handle of a token object holds in every
  // session of this process, and a search is a round trip to the HSM. A
  // handle the token no longer knows (it was reset) is looked up again.
  ck_rv_t rv = CKR_KEY_HANDLE_INVALID;
  for (int attempt = 0; attempt < 2 && rv == CKR_KEY_HANDLE_INVALID; ++attempt) {
    ck_object_handle_t handle = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (attempt > 0) key_handle_.reset();
      if (key_handle_) handle = *key_handle_;
    }
    if (!handle) {
      const auto keys = [&] {
        try {
          return find(f, lease.session(), CKO_PRIVATE_KEY, options_.key_label);
        } catch (const Error&) {
          lease.broken();
          throw unavailable("the PKCS#11 token \"" + options_.token_label +
                            "\" cannot be searched: the HSM is unreachable or was reset; try "
                            "again when it is back");
        }
      }();
      if (keys.size() != 1) {
        lease.broken();
        throw unavailable("the PKCS#11 key \"" + options_.key_label + "\" is not on the token \"" +
                          options_.token_label + "\" now; nothing was issued or published");
      }
      handle = keys[0];
      std::lock_guard<std::mutex> lock(mu_);
      key_handle_ = handle;
    }
    rv = f->C_SignInit(lease.session(), &mech, handle);
  }
  if (rv != CKR_OK) fail(rv);
  unsigned long length = 0;
  rv = f->C_Sign(lease.session(), input.data(), input.size(), nullptr, &length);
  if (rv != CKR_OK) fail(rv);
  out.resize(length);
  rv = f->C_Sign(lease.session(), input.data(), input.size(), out.data(), &length);
  if (rv != CKR_OK) fail(rv);
  out.resize(length);
  if (!ecdsa) return out;
  // PKCS#11 gives r || s; X.509 carries SEQUENCE { INTEGER r, INTEGER s }.
  if (out.size() != 2 * signature_half_) {
    throw internal_error("the PKCS#11 token gave an ECDSA signature of " +
                         std::to_string(out.size()) + " octets");
  }
  const Botan::BigInt r(out.data(), signature_half_);
  const Botan::BigInt s(out.data() + signature_half_, signature_half_);
  std::vector<std::uint8_t> der;
  Botan::DER_Encoder(der).start_cons(Botan::SEQUENCE).encode(r).encode(s).end_cons();
  return der;
}

}  // namespace hostca
