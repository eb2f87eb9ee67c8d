// The Authority's renewal side: a host renews with the certificate it has,
// over mutual TLS, and reports certificate failures.
#include <algorithm>
#include <tuple>

#include <botan/data_src.h>
#include <botan/x509cert.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/uuid.h"
#include "domain/authority.h"
#include "domain/host_name.h"
#include "domain/records.h"

namespace hostca {

namespace {

const char* kAskForReissue =
    "ask an admin for a reissue token (hostca-admin reissue-token create) and run "
    "'hostca-agent reissue'";

}  // namespace

// The presented certificate, if one of this CA's keys issued it (during a
// rollover, the old key's certificates renew onto the new key); the caller
// checks the rest (time, revocation) against the clock and the database.
Botan::X509_Certificate our_certificate(const std::string& pem, const CaKeyRing& ring) {
  if (pem.empty()) {
    throw unauthenticated(
        "renewal needs the host's current certificate as the TLS client certificate "
        "(hostca-agent renew presents it)");
  }
  std::optional<Botan::X509_Certificate> cert;
  try {
    Botan::DataSource_Memory source(pem);
    cert.emplace(source);
  } catch (const std::exception&) {
    throw unauthenticated("the TLS client certificate could not be read");
  }
  if (ring.issuer_of(*cert) == nullptr) {
    throw unauthenticated(
        "the TLS client certificate was not issued by this CA; a host renews with the "
        "certificate this CA gave it");
  }
  return *cert;
}

namespace {

// Reports come from unauthenticated peers and end up in front of admins:
// only a SHA-256 in lower-case hex gets through.
std::string checked_fingerprint(const std::string& text, const std::string& what) {
  if (text.size() != 64 || text.find_first_not_of("0123456789abcdef") != std::string::npos) {
    throw invalid_argument(what + " must be a SHA-256 in lower-case hex (64 characters)");
  }
  return text;
}

TimePoint time_of(const Botan::X509_Time& t) {
  return TimePoint(std::chrono::duration_cast<Duration>(t.to_std_timepoint().time_since_epoch()));
}

}  // namespace

Renewal Authority::renew(const RenewalRequest& request) {
  const auto keys = this->keys();
  clock_check_.require_in_step("issue certificates");
  const Botan::X509_Certificate presented =
      our_certificate(request.client_certificate_pem, *keys->ring);
  const std::string host_id = [&] {
    try {
      return parse_uuid(presented.subject_dn().get_first_attribute("CN"), "host ID");
    } catch (const Error&) {
      throw unauthenticated("the TLS client certificate does not name a host of this CA");
    }
  }();
  const std::string old_serial = serial_hex(Botan::BigInt(presented.serial_number()));
  const CertificateRequest csr = CertificateRequest::parse(request.csr, config_.key_policy);
  const Bytes key_hash = sha256(csr.spki());

  Renewal result = store_.transact([&](store::Tx& tx) {
    const TimePoint now = clock_.now();
    if (now < time_of(presented.not_before()) || now >= time_of(presented.not_after())) {
      throw unauthenticated(
          "the TLS client certificate " + old_serial + " expired at " +
          format_rfc3339(time_of(presented.not_after())) +
          " (or is not valid yet); an expired certificate cannot renew: " + kAskForReissue);
    }
    // Revocation is checked in the database now, never against a cached CRL.
    const auto row = tx.find_certificate_for_update(old_serial);
    if (!row || row->host_id != host_id) {
      throw unauthenticated("the TLS client certificate " + old_serial +
                            " is not one this CA has on record");
    }
    if (row->revoked_at) {
      throw permission_denied(
          "certificate " + old_serial + " was revoked at " + format_rfc3339(*row->revoked_at) +
          " (" + to_string(revocation_reason_from_code(row->revocation_reason.value_or(0))) +
          "); a revoked certificate cannot renew: " + kAskForReissue);
    }
    const auto host = tx.lock_host(host_id);
    if (!host) throw unauthenticated("host " + host_id + " is not on record");
    // Only the host's newest certificate renews: revoking it cuts the host
    // off even while an older certificate of it has not expired yet.
    const auto certificates = tx.list_host_certificates(host_id);
    const auto newest = std::max_element(
        certificates.begin(), certificates.end(), [](const auto& a, const auto& b) {
          return std::tie(a.created_at, a.not_after) < std::tie(b.created_at, b.not_after);
        });
    if (newest != certificates.end() && newest->serial_hex != old_serial) {
      throw permission_denied("certificate " + old_serial + " has been followed by " +
                              newest->serial_hex +
                              "; only the host's newest certificate can renew");
    }
    // A bounded number of valid certificates per host: renewing without end
    // would pile them up until the host could no longer be revoked as one.
    std::vector<const store::CertificateRow*> valid;
    for (const auto& c : certificates) {
      if (!c.revoked_at && c.not_after > now) valid.push_back(&c);
    }
    const auto limit = static_cast<std::size_t>(config_.max_valid_certificates_per_host);
    if (valid.size() >= limit) {
      const auto* oldest = *std::min_element(
          valid.begin(), valid.end(),
          [](const auto* a, const auto* b) { return a->not_after < b->not_after; });
      throw failed_precondition(
          "host " + host_id + " already holds " + std::to_string(valid.size()) +
          " valid certificates, the most a host may hold at once (" + std::to_string(limit) +
          "); renewal is possible again at " + format_rfc3339(oldest->not_after) +
          ", when certificate " + oldest->serial_hex +
          " expires, or once an admin revokes an older certificate");
    }
    require_new_key(tx, key_hash, host_id, "a renewal");
    if (host->hostname.empty()) {
      throw failed_precondition("host " + host_id + " has no host name (an admin released it): " +
                                kAskForReissue + " --hostname <name>");
    }
    // The names are the host's own, checked and claimed again: the policy
    // may have changed, and a certificate never carries a name the register
    // does not give this host.
    const HostName hostname = HostName::parse(host->hostname);
    const std::vector<HostName> aliases = parse_aliases(host->aliases, hostname);
    check_names(config_.names, hostname, aliases);
    refuse_held_names(tx.assign_host_names(host_id, hostname.str(), name_texts(aliases), now),
                      hostname);
    IssuedCertificate issued = keys->issuer().issue_host_certificate(host_id, hostname, aliases,
                                                                     csr, host->crl_shard, now);
    tx.insert_certificate(certificate_record(issued, store::CertificateKind::kRenew, host_id,
                                             host->crl_shard, key_hash, now));
    if (host->certificate_failure_at) {
      tx.set_certificate_failure(host_id, std::nullopt, "", false);
    }
    tx.append_audit(audit_record(now, "host:" + host_id, "certificate.renew", host_id, "ok",
                                 {{"serial", issued.serial_hex},
                                  {"previous_serial", old_serial},
                                  {"not_after", format_rfc3339(issued.not_after)}}));
    return Renewal{host_id, std::move(issued)};
  });
  notify_committed(OperationOutcome{store::CertificateKind::kRenew, 0, false});
  spdlog::info("renewed host {}: certificate {} follows {}", host_id, result.certificate.serial_hex,
               old_serial);
  return result;
}

bool Authority::record_certificate_failure(const CertificateFailureReport& report) {
  const std::string host_id = parse_uuid(report.host_id, "host ID");
  const std::string pinned = checked_fingerprint(report.pinned_spki_sha256, "pinned_spki_sha256");
  const std::string presented =
      checked_fingerprint(report.presented_spki_sha256, "presented_spki_sha256");
  const std::string server = checked_label(report.server, "server", 255);
  const std::string address = peer_address(report.peer);
  const std::string detail =
      "pinned CA key " + pinned + ", presented " + presented + " at " + server;

  // The report speaks for the host only if the caller holds the host's own
  // certificate: this CA's, naming the host, in its validity (and, below,
  // unrevoked in the database). Anything else is an unverified report.
  std::optional<std::string> claimed_serial;
  if (!report.client_certificate_pem.empty()) {
    try {
      const Botan::X509_Certificate cert =
          our_certificate(report.client_certificate_pem, *keys()->ring);
      const TimePoint now = clock_.now();
      if (parse_uuid(cert.subject_dn().get_first_attribute("CN"), "host ID") == host_id &&
          now >= time_of(cert.not_before()) && now < time_of(cert.not_after())) {
        claimed_serial = serial_hex(Botan::BigInt(cert.serial_number()));
      }
    } catch (const Error&) {
      claimed_serial.reset();
    }
  }
  // Unverified reports are limited per address, verified ones per host.
  const std::string budget_key = claimed_serial ? "host:" + host_id : address;
  if (reports_->over_budget(budget_key)) {
    const auto wait =
        std::chrono::duration_cast<std::chrono::seconds>(reports_->retry_after(budget_key)).count();
    refusals_->record("host.certificate_failure", "peer:" + address, "", "refused",
                      "too many reports");
    throw resource_exhausted("too many certificate-failure reports from this " +
                             std::string(claimed_serial ? "host" : "address") + "; try again in " +
                             std::to_string(std::max<long long>(1, wait)) + " s");
  }
  reports_->failed(budget_key);

  bool recorded = false;
  bool verified = false;
  store_.transact([&](store::Tx& tx) {
    const TimePoint now = clock_.now();
    verified = false;
    const auto host = tx.lock_host(host_id);
    recorded = host.has_value();
    if (!host) return;
    if (claimed_serial) {
      const auto cert = tx.find_certificate_for_update(*claimed_serial);
      verified = cert && cert->host_id == host_id && !cert->revoked_at;
    }
    if (verified) {
      tx.set_certificate_failure(host_id, now, detail, true);
      tx.append_audit(audit_record(now, "host:" + host_id, "host.certificate_failure", host_id,
                                   "ok",
                                   {{"pinned_spki_sha256", pinned},
                                    {"presented_spki_sha256", presented},
                                    {"server", server},
                                    {"verified", true}}));
    } else if (!(host->certificate_failure_at && host->certificate_failure_verified)) {
      tx.set_certificate_failure(host_id, now, detail, false);
    }
  });
  if (!verified) {
    // Reported by a caller without the host's certificate: audited in
    // aggregate, one row per address per window.
    refusals_->record(
        "host.certificate_failure", "peer:" + address, "", recorded ? "ok" : "refused",
        std::string("unverified report for ") + (recorded ? "host " : "unknown host ") + host_id);
  }
  spdlog::warn("{} certificate failure reported for host {}: {}",
               verified ? "verified" : "unverified", host_id, detail);
  return recorded;
}

void Authority::acknowledge_certificate_failure(const Actor& actor, const std::string& host_id,
                                                const std::string& note) {
  const std::string id = parse_uuid(host_id, "host ID");
  const std::string text = checked_label(note, "note", 1000);
  store_.transact([&](store::Tx& tx) {
    if (!tx.lock_host(id)) {
      throw not_found("no host has the ID " + id + " (hostca-admin host list shows them)");
    }
    const auto host = tx.find_host(id);
    if (!host || !host->certificate_failure_at) {
      throw failed_precondition("host " + id + " has no certificate failure to acknowledge");
    }
    tx.set_certificate_failure(id, std::nullopt, "", false);
    tx.append_audit(audit_record(clock_.now(), actor.id, "host.failure_acknowledged", id, "ok",
                                 {{"note", text},
                                  {"reported_at", format_rfc3339(*host->certificate_failure_at)},
                                  {"detail", host->certificate_failure_detail},
                                  {"verified", host->certificate_failure_verified}}));
  });
}

}  // namespace hostca
