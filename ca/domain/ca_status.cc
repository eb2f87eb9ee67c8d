// The Authority's view of its own keys: what hosts trust, how far a
// rollover has spread, and when the active CA certificate nears its end.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/uuid.h"
#include "domain/authority.h"
#include "domain/records.h"

namespace hostca {

namespace {

// A host pins a handful of keys; anything longer is not an agent.
constexpr std::size_t kMostTrustedKeys = 8;

TimePoint time_of(const Botan::X509_Time& t) {
  return TimePoint(std::chrono::duration_cast<Duration>(t.to_std_timepoint().time_since_epoch()));
}

std::string phase_of(const CaKeyRing& ring) {
  for (const auto& k : ring.keys()) {
    if (k.state == CaKeyState::kNext) return "propagate";
  }
  for (const auto& k : ring.keys()) {
    if (k.state == CaKeyState::kRetiring) return "activate";
  }
  return "none";
}

}  // namespace

std::string Authority::expiry_warning(TimePoint now, Duration margin) const {
  const auto k = keys();
  if (phase_of(*k->ring) == "propagate") return {};
  const CaKey& active = k->ring->active();
  const TimePoint end = active.not_after();
  if (end - now > profile_.validity + margin) return {};
  const auto days = std::chrono::duration_cast<std::chrono::hours>(end - now).count() / 24;
  return "the active CA certificate (key " + std::to_string(active.generation) + ") ends at " +
         format_rfc3339(end) + ", in " + std::to_string(days) +
         " days: closer than a host certificate's validity plus 30 days, and no rollover is "
         "started (hostca-server ca rollover start)";
}

CaStatus Authority::ca_status(bool with_counts) {
  const auto k = keys();
  const TimePoint now = clock_.now();
  const auto publishing = k->ring->publishing(now);
  const auto announced = announced_keys();
  CaStatus status;
  status.phase = phase_of(*k->ring);
  status.warning = expiry_warning(now);
  store_.transact([&](store::Tx& tx) {
    status.keys.clear();
    if (with_counts) {
      status.hosts = tx.count_hosts();
      status.hosts_reporting = tx.count_hosts_reporting_trust();
    }
    for (const auto& key : k->ring->keys()) {
      CaKeyStatus s;
      const auto view = ca_certificate(key.generation);
      s.key.certificate = *view;
      s.key.state = key.state;
      for (const auto& a : announced) {
        if (a.certificate.generation == key.generation) {
          s.key.new_with_old_der = a.new_with_old_der;
          s.key.old_with_new_der = a.old_with_new_der;
        }
      }
      s.key_algorithm = key.key_algorithm;
      s.held_in = key.held_in.empty() ? "database" : key.held_in;
      s.not_after = key.not_after();
      s.emergency = key.emergency;
      s.publishing =
          std::find(publishing.begin(), publishing.end(), key.generation) != publishing.end();
      if (with_counts) {
        s.hosts_trusting = tx.count_hosts_trusting(key.spki_sha256);
        s.valid_certificates = tx.count_valid_certificates_of_key(key.generation, now);
      }
      status.keys.push_back(std::move(s));
    }
  });
  return status;
}

void Authority::record_trusted_cas(const TrustReport& report) {
  if (report.spki_sha256.empty() || report.spki_sha256.size() > kMostTrustedKeys) {
    throw invalid_argument("report between 1 and " + std::to_string(kMostTrustedKeys) +
                           " trusted CA keys");
  }
  std::vector<std::string> spkis;
  for (const auto& s : report.spki_sha256) {
    if (s.size() != 64 || s.find_first_not_of("0123456789abcdef") != std::string::npos) {
      throw invalid_argument("each trusted CA key is a SHA-256 in lower-case hex (64 characters)");
    }
    if (std::find(spkis.begin(), spkis.end(), s) == spkis.end()) spkis.push_back(s);
  }
  // The host is the one its own valid certificate names: this CA's (any of
  // its keys), in its validity, on record and unrevoked now.
  const Botan::X509_Certificate cert = our_certificate(report.client_certificate_pem, *ring());
  const std::string host_id = [&] {
    try {
      return parse_uuid(cert.subject_dn().get_first_attribute("CN"), "host ID");
    } catch (const Error&) {
      throw unauthenticated("the TLS client certificate does not name a host of this CA");
    }
  }();
  const std::string serial = serial_hex(Botan::BigInt(cert.serial_number()));
  store_.transact([&](store::Tx& tx) {
    const TimePoint now = clock_.now();
    if (now < time_of(cert.not_before()) || now >= time_of(cert.not_after())) {
      throw unauthenticated("the TLS client certificate " + serial + " is not valid now");
    }
    const auto row = tx.find_certificate_for_update(serial);
    if (!row || row->host_id != host_id || row->revoked_at) {
      throw unauthenticated("the TLS client certificate " + serial +
                            " is not a valid certificate of this CA on record");
    }
    tx.record_trusted_cas(host_id, spkis, now);
  });
}

}  // namespace hostca
