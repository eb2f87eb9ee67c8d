#include "agent/crl_bundle.h"

#include <botan/ber_dec.h>
#include <botan/hex.h>
#include <botan/pem.h>
#include <botan/pk_keys.h>
#include <botan/pkix_types.h>

#include "common/clock.h"
#include "common/error.h"
#include "pki/revocation_reason.h"

namespace hostca::agent {

namespace {
const char* const kBegin = "-----BEGIN X509 CRL-----";
const char* const kEnd = "-----END X509 CRL-----";

std::string reason_name(Botan::CRL_Code code) {
  const int number = static_cast<int>(code);
  try {
    return to_string(revocation_reason_from_code(number));
  } catch (const Error&) {
    return std::to_string(number);
  }
}

// The first uniformResourceIdentifier ([6]) found in nested BER.
std::string first_uri(Botan::BER_Decoder& decoder) {
  while (decoder.more_items()) {
    const Botan::BER_Object obj = decoder.get_next_object();
    if (obj.is_a(6, Botan::CONTEXT_SPECIFIC)) {
      return std::string(reinterpret_cast<const char*>(obj.bits()), obj.length());
    }
    if ((obj.get_class() & Botan::CONSTRUCTED) != 0) {
      Botan::BER_Decoder inner(obj.bits(), obj.length());
      if (std::string uri = first_uri(inner); !uri.empty()) return uri;
    }
  }
  return "";
}

RevokedEntry entry_of(const Botan::CRL_Entry& e) {
  return {Botan::hex_encode(e.serial_number(), false), rfc3339(e.expire_time()),
          reason_name(e.reason_code())};
}
}  // namespace

std::string rfc3339(const Botan::X509_Time& t) {
  const auto tp = std::chrono::time_point_cast<std::chrono::microseconds>(t.to_std_timepoint());
  return format_rfc3339(TimePoint(tp.time_since_epoch()));
}

std::string distribution_point(const Botan::X509_CRL& crl) {
  // Botan 2 reads only a bare distributionPoint; hostca's IDP also says
  // onlyContainsUserCerts, so read the extension itself.
  if (std::string url = crl.crl_issuing_distribution_point(); !url.empty()) return url;
  try {
    const auto bits = crl.extensions().get_extension_bits(Botan::OID::from_string("2.5.29.28"));
    Botan::BER_Decoder decoder(bits);
    return first_uri(decoder);
  } catch (const std::exception&) {
    return "";  // no such extension, or not one we can read
  }
}

Botan::X509_CRL parse_crl_der(const std::string& der, const std::string& what) {
  try {
    return Botan::X509_CRL(std::vector<std::uint8_t>(der.begin(), der.end()));
  } catch (const std::exception& e) {
    throw invalid_argument(what + " is not a CRL: " + e.what());
  }
}

std::vector<Botan::X509_CRL> parse_crl_bundle(const std::string& pem, const std::string& path) {
  std::vector<Botan::X509_CRL> crls;
  std::size_t at = 0;
  while ((at = pem.find(kBegin, at)) != std::string::npos) {
    const std::size_t end = pem.find(kEnd, at);
    if (end == std::string::npos) break;
    const std::size_t stop = end + std::string(kEnd).size();
    try {
      const auto der = Botan::PEM_Code::decode_check_label(pem.substr(at, stop - at), "X509 CRL");
      crls.emplace_back(std::vector<std::uint8_t>(der.begin(), der.end()));
    } catch (const std::exception& e) {
      throw failed_precondition("CRL " + std::to_string(crls.size() + 1) + " in " + path +
                                " does not parse (" + e.what() + "); run 'hostca-agent fetch-crl'");
    }
    at = stop;
  }
  if (crls.empty()) {
    throw failed_precondition(path + " holds no CRL; run 'hostca-agent fetch-crl'");
  }
  return crls;
}

std::string crl_bundle_pem(const std::vector<ReceivedCrl>& crls) {
  std::string out;
  for (const auto& c : crls) {
    out += Botan::PEM_Code::encode(reinterpret_cast<const std::uint8_t*>(c.der.data()),
                                   c.der.size(), "X509 CRL");
  }
  return out;
}

bool issued_by(const Botan::X509_CRL& crl, const Botan::X509_Certificate& ca) {
  if (!(crl.issuer_dn() == ca.subject_dn())) return false;
  const std::unique_ptr<Botan::Public_Key> key(ca.subject_public_key());
  try {
    return crl.check_signature(*key);
  } catch (const std::exception&) {
    return false;
  }
}

std::vector<RevokedEntry> revoked_entries(const Botan::X509_CRL& crl) {
  std::vector<RevokedEntry> out;
  for (const auto& e : crl.get_revoked()) out.push_back(entry_of(e));
  return out;
}

std::optional<RevokedEntry> find_revocation(const std::vector<Botan::X509_CRL>& crls,
                                            const Botan::X509_Certificate& cert) {
  for (const auto& crl : crls) {
    if (!crl.is_revoked(cert)) continue;
    for (const auto& e : crl.get_revoked()) {
      if (e.serial_number() == cert.serial_number()) return entry_of(e);
    }
  }
  return std::nullopt;
}

}  // namespace hostca::agent
