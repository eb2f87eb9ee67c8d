#include "pki/ca_link_check.h"

#include <memory>

#include <botan/pkix_types.h>

#include "pki/keys.h"

namespace hostca {

std::string link_refusal(const std::vector<Botan::X509_Certificate>& pinned,
                         const Botan::X509_Certificate& announced,
                         const Botan::X509_Certificate& link,
                         std::chrono::system_clock::time_point now) {
  if (link.subject_public_key_info() != announced.subject_public_key_info()) {
    return "the link certifies key " + spki_fingerprint(link) + ", not the announced " +
           spki_fingerprint(announced);
  }
  if (!link.is_CA_cert() || !(link.subject_dn() == announced.subject_dn())) {
    return "the link is not a CA certificate for the announced CA's name";
  }
  if (now < link.not_before().to_std_timepoint() || now >= link.not_after().to_std_timepoint()) {
    return "the link is outside its validity (" + link.not_before().readable_string() + " to " +
           link.not_after().readable_string() + ")";
  }
  for (const auto& key : pinned) {
    if (!(link.issuer_dn() == key.subject_dn())) continue;
    try {
      const std::unique_ptr<Botan::Public_Key> public_key(key.subject_public_key());
      if (link.check_signature(*public_key)) return {};
    } catch (const std::exception&) {
      // A key that cannot check the signature is not the one that made it.
    }
  }
  return "the link is not signed by a CA key this host pins";
}

}  // namespace hostca
