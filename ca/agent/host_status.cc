#include "agent/host_status.h"

#include <iomanip>
#include <sstream>

#include <botan/hex.h>
#include <nlohmann/json.hpp>

#include "agent/host_crls.h"
#include "agent/pin_set.h"
#include "agent/renewal.h"
#include "common/files.h"

namespace hostca::agent {

using json = nlohmann::json;

namespace {

void read_certificate(const AgentDir& dir, TimePoint now, HostStatus& s) {
  try {
    const Botan::X509_Certificate cert = host_certificate(dir);
    const RenewalSchedule schedule = schedule_of(cert, s.renew_at);
    s.has_certificate = true;
    s.serial_hex = Botan::hex_encode(cert.serial_number(), false);
    s.not_before = schedule.not_before;
    s.not_after = schedule.not_after;
    s.renews_after = schedule.due();
    s.days_left = days_until(schedule.not_after, now);
    s.expired = schedule.expired(now);
    s.renewal_due = schedule.is_due(now);
  } catch (const std::exception& e) {
    s.certificate_error = e.what();
  }
}

void read_revocation(const AgentDir& dir, HostStatus& s) {
  if (const auto at = dir.crl_fetched_at()) {
    s.crl_fetched_at = std::chrono::time_point_cast<Duration>(*at);
  } else {
    s.crl_error = "no CRL fetched yet; run 'hostca-agent fetch-crl'";
    return;
  }
  if (!s.pin) {
    s.crl_error = "no CA is pinned to check " + dir.crl_path() + " against";
    return;
  }
  if (!s.has_certificate) return;
  try {
    const auto crls = crls_on_file(dir, PinSet::read(dir));
    s.revoked = find_revocation(crls, host_certificate(dir));
    s.revocation = s.revoked ? "revoked" : "not revoked";
  } catch (const std::exception& e) {
    s.crl_error = e.what();
  }
}

std::string percent(double fraction) {
  std::ostringstream out;
  out << std::setprecision(3) << fraction * 100 << "%";
  return out.str();
}

}  // namespace

HostStatus host_status(const AgentDir& dir, double renew_at, TimePoint now) {
  HostStatus s;
  s.dir = dir.path();
  s.renew_at = checked_renew_at(renew_at);
  s.pin = dir.pin();
  s.identity = dir.identity();
  if (s.identity || file_exists(dir.file("host.pem"))) {
    read_certificate(dir, now, s);
    read_revocation(dir, s);
  }
  return s;
}

std::string status_json(const HostStatus& s) {
  json j{{"dir", s.dir}, {"pinned", s.pin.has_value()}, {"enrolled", s.identity.has_value()}};
  if (s.pin) {
    j["server"] = s.pin->server;
    j["tls_server_name"] = s.pin->tls_server_name;
    j["ca_sha256"] = s.pin->sha256_fingerprint;
    j["ca_spki_sha256"] = s.pin->spki_sha256;
    json keys = json::array();
    keys.push_back({{"role", "current"},
                    {"spki_sha256", s.pin->spki_sha256},
                    {"sha256", s.pin->sha256_fingerprint}});
    for (const auto& k : s.pin->other_keys) {
      keys.push_back(
          {{"role", k.role}, {"spki_sha256", k.spki_sha256}, {"sha256", k.sha256_fingerprint}});
    }
    j["pinned_keys"] = keys;
  }
  if (s.identity) {
    j["host_id"] = s.identity->host_id;
    j["hostname"] = s.identity->hostname;
  }
  if (s.has_certificate) {
    j["serial_hex"] = s.serial_hex;
    j["not_before"] = format_rfc3339(s.not_before);
    j["not_after"] = format_rfc3339(s.not_after);
    j["days_left"] = s.days_left;
    j["expired"] = s.expired;
    j["renew_at"] = s.renew_at;
    j["renews_after"] = format_rfc3339(s.renews_after);
    j["renewal_due"] = s.renewal_due;
  } else if (!s.certificate_error.empty()) {
    j["certificate_error"] = s.certificate_error;
  }
  if (s.has_certificate || !s.certificate_error.empty()) {
    // true, false, or "unknown" without a usable crl.pem.
    if (s.revocation == "unknown") {
      j["revoked"] = "unknown";
    } else {
      j["revoked"] = s.revoked.has_value();
    }
    if (s.revoked) {
      j["revoked_at"] = s.revoked->revoked_at;
      j["revocation_reason"] = s.revoked->reason;
    }
    j["crl_fetched_at"] = s.crl_fetched_at ? json(format_rfc3339(*s.crl_fetched_at)) : json();
    if (!s.crl_error.empty()) j["crl_error"] = s.crl_error;
  }
  return j.dump() + "\n";
}

std::string status_text(const HostStatus& s) {
  std::ostringstream out;
  const auto line = [&](const std::string& label, const std::string& value) {
    out << std::left << std::setw(15) << (label.empty() ? label : label + ":") << value << "\n";
  };
  if (s.identity) {
    line("host ID", s.identity->host_id);
    line("host name", s.identity->hostname.empty() ? "-" : s.identity->hostname);
  } else {
    line("host ID", "none: not enrolled (hostca-agent enroll --token <token> --hostname <name>)");
  }
  if (s.has_certificate) {
    line("serial", s.serial_hex);
    const long long d = s.days_left;
    line("not after",
         format_rfc3339(s.not_after) +
             (s.expired ? " (EXPIRED)"
                        : " (" + std::to_string(d) + (d == 1 ? " day" : " days") + " left)"));
    line("renews after", format_rfc3339(s.renews_after) + " (" + percent(s.renew_at) +
                             " of the lifetime" + (s.renewal_due ? "; due now)" : ")"));
    std::string revoked;
    const std::string fetched =
        s.crl_fetched_at ? "the CRLs fetched " + format_rfc3339(*s.crl_fetched_at) : "";
    if (s.revoked) {
      revoked =
          "YES, " + s.revoked->revoked_at + " (" + s.revoked->reason + "), according to " + fetched;
    } else if (s.revocation == "not revoked") {
      revoked = "no, according to " + fetched;
    } else {
      revoked = "unknown (" + s.crl_error + ")";
    }
    line("revoked", revoked);
  } else if (!s.certificate_error.empty()) {
    line("certificate", "cannot be read: " + s.certificate_error);
  }
  if (s.pin) {
    line("CA SHA-256", s.pin->sha256_fingerprint);
    line("CA SPKI", s.pin->spki_sha256);
    // The whole pin set, one key a line: its public key and its role.
    line("pinned keys", s.pin->spki_sha256 + " (current)");
    for (const auto& k : s.pin->other_keys) line("", k.spki_sha256 + " (" + k.role + ")");
    line("server", s.pin->server);
  } else {
    line("CA", "none pinned (hostca-agent get-ca --server <address> --fingerprint <sha256>)");
  }
  line("folder", s.dir);
  return out.str();
}

}  // namespace hostca::agent
