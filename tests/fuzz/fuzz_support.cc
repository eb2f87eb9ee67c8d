#include "fuzz_support.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>

#include <botan/system_rng.h>
#include <google/protobuf/stubs/logging.h>

#include "common/error.h"
#include "domain/ca_key.h"
#include "domain/certificate_issuer.h"
#include "domain/signer.h"

namespace hostca::fuzz {

namespace {

// Thrown by RefusingStore::transact: the input passed every check that
// comes before the database. Not an Error, so no domain code catches it.
struct ReachedStore {};

class RefusingStore final : public store::Store {
 public:
  void transact(const std::function<void(store::Tx&)>&) override { throw ReachedStore{}; }
};

// The fuzzers' randomness: nothing here needs it pinned.
Botan::RandomNumberGenerator& rng() {
  static auto* const r = new Botan::System_RNG();
  return *r;
}

// 2026-03-01T12:00:00Z, as the tests use: the CA is valid then.
const TimePoint kNow = from_unix_micros(1772366400LL * 1000000);

}  // namespace

void expect_only_errors(const char* what, const std::function<void()>& body) {
  try {
    body();
  } catch (const Error&) {
  } catch (const ReachedStore&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: %s let a non-hostca exception escape: %s\n", what, e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "fuzz: %s let an unknown exception escape\n", what);
    std::abort();
  }
}

void require(bool ok, const char* message) {
  if (ok) return;
  std::fprintf(stderr, "fuzz: property violated: %s\n", message);
  std::abort();
}

void quiet_protobuf_logs() { google::protobuf::SetLogHandler(nullptr); }

Authority& authority() {
  // Leaked on purpose: it lives as long as the process, and no destructor
  // runs while libFuzzer may still call into it.
  static Authority* const instance = [] {
    static RefusingStore refusing;
    static FakeClock clock(kNow);
    const std::shared_ptr<const Botan::Private_Key> key =
        generate_key(CaKeyAlgorithm::kEcdsaP256, rng());
    auto signer = std::make_shared<SoftwareSigner>(
        key, make_ca_certificate(*key, CaCertificateOptions{}, kNow, rng()), rng());
    auto issuer =
        std::make_shared<CertificateIssuer>(CertificateProfile{}, std::move(signer), rng());
    return new Authority(refusing, std::move(issuer), clock, rng(), AuthorityConfig{});
  }();
  return *instance;
}

}  // namespace hostca::fuzz
