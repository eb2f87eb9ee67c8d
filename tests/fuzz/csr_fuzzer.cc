// CSRs: whatever a host sends as its PKCS#10 request, DER or PEM, through
// the parser every enrolment, reissue and renewal uses, with the default
// key policy.
#include <cstddef>
#include <cstdint>

#include "domain/certificate_request.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hostca;
  fuzz::expect_only_errors("CertificateRequest::parse", [&] {
    const KeyPolicy policy;
    const CertificateRequest csr = CertificateRequest::parse(fuzz::as_bytes(data, size), policy);
    fuzz::require(!csr.spki().empty(), "an accepted CSR has a SubjectPublicKeyInfo");
    fuzz::require(policy.check(csr.public_key()) == csr.family(),
                  "an accepted CSR's key family is the policy's verdict on its key");
  });
  return 0;
}
