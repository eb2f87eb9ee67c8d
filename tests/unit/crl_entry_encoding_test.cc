// CrlBuilder writes revokedCertificates entries by hand, for speed. These
// tests hold that encoding to an independent one: the same entry encoded
// with Botan's DER encoder, BigInt, X509_Time and CRL_ReasonCode
// extension, byte for byte.
#include <gtest/gtest.h>

#include <botan/asn1_obj.h>
#include <botan/bigint.h>
#include <botan/der_enc.h>
#include <botan/hex.h>
#include <botan/x509_ext.h>

#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"
#include "domain/crl_builder.h"

namespace hostca {
namespace {

std::vector<std::uint8_t> reference(const CrlEntry& e) {
  const Bytes serial = from_hex(e.serial_hex, "serial");
  std::vector<std::uint8_t> out;
  Botan::DER_Encoder der(out);
  der.start_cons(Botan::SEQUENCE)
      .encode(Botan::BigInt(serial.data(), serial.size()))
      .encode(Botan::X509_Time(std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::seconds>(e.revoked_at.time_since_epoch()))));
  if (e.reason != RevocationReason::kUnspecified) {
    Botan::Extensions extensions;
    extensions.add(new Botan::Cert_Extension::CRL_ReasonCode(
        static_cast<Botan::CRL_Code>(static_cast<int>(e.reason))));
    der.start_cons(Botan::SEQUENCE).encode(extensions).end_cons();
  }
  der.end_cons();
  return out;
}

std::vector<std::uint8_t> ours(const CrlEntry& e) {
  std::vector<std::uint8_t> out;
  append_revoked_certificate(out, e);
  return out;
}

TimePoint at(std::int64_t unix_seconds, int micros = 0) {
  return from_unix_micros(unix_seconds * 1000000 + micros);
}

TEST(CrlEntryEncoding, MatchesBotansEncoderForEveryReason) {
  for (const auto reason : {RevocationReason::kUnspecified, RevocationReason::kKeyCompromise,
                            RevocationReason::kCaCompromise, RevocationReason::kAffiliationChanged,
                            RevocationReason::kSuperseded, RevocationReason::kCessationOfOperation,
                            RevocationReason::kPrivilegeWithdrawn}) {
    const CrlEntry e{"4f1e2d3c4b5a69788796a5b4c3d2e1f0", at(1772366400, 999999), reason};
    EXPECT_EQ(Botan::hex_encode(ours(e)), Botan::hex_encode(reference(e)))
        << "reason " << static_cast<int>(reason);
  }
}

TEST(CrlEntryEncoding, MatchesBotansEncoderForSerialsOfEveryShape) {
  // Top bit set (needs a zero octet), short, one octet, 20 octets.
  for (const std::string serial :
       {"80", "ff00ff00ff00ff00", "01", "7f", "0123456789abcdef0123456789abcdef01234567",
        "c0ffee0000000000000000000000000000000001"}) {
    const CrlEntry e{serial, at(1772366400), RevocationReason::kSuperseded};
    EXPECT_EQ(Botan::hex_encode(ours(e)), Botan::hex_encode(reference(e))) << serial;
  }
}

TEST(CrlEntryEncoding, MatchesBotansEncoderEitherSideOf2050) {
  // 2049-12-31T23:59:59Z is the last UTCTime; 2050-01-01T00:00:00Z is
  // GeneralizedTime (RFC 5280 5.1.2.6).
  for (const std::int64_t t : {2524607999LL, 2524608000LL, 946684800LL, 1772366400LL}) {
    const CrlEntry e{"42", at(t), RevocationReason::kKeyCompromise};
    EXPECT_EQ(Botan::hex_encode(ours(e)), Botan::hex_encode(reference(e))) << t;
  }
  std::vector<std::uint8_t> before = ours(CrlEntry{"42", at(2524607999LL)});
  std::vector<std::uint8_t> after = ours(CrlEntry{"42", at(2524608000LL)});
  EXPECT_EQ(before[5], 0x17);  // UTCTime
  EXPECT_EQ(after[5], 0x18);   // GeneralizedTime
}

TEST(CrlEntryEncoding, RefusesASerialThatIsNotHex) {
  std::vector<std::uint8_t> out;
  EXPECT_THROW(append_revoked_certificate(out, CrlEntry{"xyz", at(1772366400)}), Error);
}

}  // namespace
}  // namespace hostca
