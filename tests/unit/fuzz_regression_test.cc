// Inputs the fuzzers (tests/fuzz/) found mishandled, each pinned here so the
// fix stays. The bytes are the fuzzer's input, or the seed it grew from.
#include <gtest/gtest.h>

#include <string>

#include <botan/hex.h>
#include <botan/pem.h>

#include "../support/expect_error.h"
#include "domain/certificate_request.h"

namespace hostca {
namespace {

using testing::thrown_by;

// An OpenSSL CSR for a P-256 key whose curve is spelled out as explicit
// parameters (openssl genpkey -pkeyopt ec_param_enc:explicit), the seed
// from which csr_fuzzer grew curves that Botan 2 keeps in its process-wide
// registry for good: every distinct one cost the server memory until it
// restarted, before any token was checked.
const char* const kExplicitCurveCsrHex =
    "308201ca30820170020100301a3118301606035504030c0f69676e6f7265642e6578616d706c6530"
    "82014b3082010306072a8648ce3d02013081f7020101302c06072a8648ce3d0101022100ffffffff"
    "00000001000000000000000000000000ffffffffffffffffffffffff305b0420ffffffff00000001"
    "000000000000000000000000fffffffffffffffffffffffc04205ac635d8aa3a93e7b3ebbd557698"
    "86bc651d06b0cc53b0f63bce3c3e27d2604b031500c49d360886e704936a6678e1139d26b7819f7e"
    "900441046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2"
    "fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5022100ffffffff00000000ff"
    "ffffffffffffffbce6faada7179e84f3b9cac2fc632551020101034200046f7af0e41029d1634208"
    "3772dd11580815a1abd24a08ea18128c4113a5fd045d4269baa754e410975fda2e72ea3c5ff09d4a"
    "b04100714cf3e118010a44c2832da000300a06082a8648ce3d0403020348003045022100bf259e25"
    "491ca96163a2ed805cac2780fade8ba565feb8084f8527fa22e115be02206ea9fbbadc13fa48946b"
    "5400bf363a2d23fd0fcd7a4c6251ae5d7369f8f2c009";

Bytes explicit_curve_csr() {
  const auto der = Botan::hex_decode(kExplicitCurveCsrHex);
  return Bytes(der.begin(), der.end());
}

TEST(FuzzRegression, CsrWithExplicitCurveParametersIsRefusedBeforeItsKeyIsLoaded) {
  const auto t = thrown_by([] { CertificateRequest::parse(explicit_curve_csr(), KeyPolicy()); });
  EXPECT_EQ(t.kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(t.message.find("explicit parameters"), std::string::npos) << t.message;
  EXPECT_NE(t.message.find("ECDSA P-256"), std::string::npos) << t.message;
}

TEST(FuzzRegression, PemCsrWithExplicitCurveParametersIsRefusedToo) {
  const Bytes der = explicit_curve_csr();
  const std::string pem = Botan::PEM_Code::encode(der.data(), der.size(), "CERTIFICATE REQUEST");
  const auto t =
      thrown_by([&] { CertificateRequest::parse(Bytes(pem.begin(), pem.end()), KeyPolicy()); });
  EXPECT_EQ(t.kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(t.message.find("explicit parameters"), std::string::npos) << t.message;
}

}  // namespace
}  // namespace hostca
