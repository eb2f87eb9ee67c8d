#include "domain/server_tls.h"

#include <botan/data_src.h>
#include <botan/x509cert.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "domain/certificate_issuer.h"
#include "domain/records.h"

namespace hostca {

namespace {
TimePoint time_of(const Botan::X509_Time& t) {
  return TimePoint(std::chrono::duration_cast<Duration>(t.to_std_timepoint().time_since_epoch()));
}
}  // namespace

std::optional<ServedTlsChain> next_served_chain(store::Store& store, const CaKeyRing& ring,
                                                const std::string& leaf_pem,
                                                const CertificateProfile& profile,
                                                const Clock& clock,
                                                Botan::RandomNumberGenerator& rng) {
  Botan::DataSource_Memory source(leaf_pem);
  const Botan::X509_Certificate leaf(source);
  const CaKey* issuer = ring.issuer_of(leaf);
  if (issuer == nullptr) return std::nullopt;  // not the CA's: the operator's to renew
  const CaKey& active = ring.active();
  const TimePoint now = clock.now();
  const TimePoint start = time_of(leaf.not_before());
  const TimePoint end = time_of(leaf.not_after());
  const bool aging = now >= start + (end - start) * 2 / 3;
  if (issuer->generation == active.generation && !aging) return std::nullopt;

  std::vector<std::string> names;
  const auto alt = leaf.subject_alt_name();
  for (const auto& n : alt.get_attribute("DNS")) names.push_back(n);
  for (const auto& n : alt.get_attribute("IP")) names.push_back(n);
  if (names.empty()) {
    throw failed_precondition("the TLS certificate names no DNS name or IP address to keep");
  }
  const CertificateIssuer cert_issuer(profile, active.signer, rng, active.generation);
  const std::unique_ptr<Botan::Public_Key> key(leaf.subject_public_key());
  const IssuedCertificate issued = cert_issuer.issue_server_certificate(names, *key, now);
  store.transact([&](store::Tx& tx) {
    tx.insert_certificate(server_certificate_record(issued, now));
    tx.append_audit(audit_record(
        now, "server", "certificate.issue", issued.serial_hex, "ok",
        nlohmann::json{{"kind", "server"},
                       {"names", names},
                       {"ca_generation", active.generation},
                       {"replaces", serial_hex(Botan::BigInt(leaf.serial_number()))}}));
  });
  ServedTlsChain out;
  out.leaf_pem = issued.pem();
  out.chain_pem = out.leaf_pem;
  if (active.new_with_old) out.chain_pem += active.new_with_old->PEM_encode();
  out.issued_serial = issued.serial_hex;
  out.ca_generation = active.generation;
  return out;
}

}  // namespace hostca
