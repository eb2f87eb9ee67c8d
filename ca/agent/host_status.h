// What 'hostca-agent status' shows, from the state folder alone (no
// network): the pinned CA, the host's identity and certificate, when it
// renews, and whether the CRLs last fetched (crl.pem) revoke it.
#pragma once

#include <optional>
#include <string>

#include "agent/agent_dir.h"
#include "agent/crl_bundle.h"
#include "common/clock.h"

namespace hostca::agent {

struct HostStatus {
  std::string dir;
  std::optional<Pin> pin;
  std::optional<Identity> identity;
  double renew_at = 0;

  // From host.pem; empty certificate_error when it was read.
  bool has_certificate = false;
  std::string certificate_error;
  std::string serial_hex;
  TimePoint not_before{};
  TimePoint not_after{};
  TimePoint renews_after{};
  long long days_left = 0;
  bool expired = false;
  bool renewal_due = false;

  // "revoked", "not revoked" or "unknown" (no crl.pem, or it cannot be used:
  // crl_error says why).
  std::string revocation = "unknown";
  std::optional<RevokedEntry> revoked;
  std::optional<TimePoint> crl_fetched_at;
  std::string crl_error;
};

HostStatus host_status(const AgentDir& dir, double renew_at, TimePoint now);

std::string status_json(const HostStatus& status);
std::string status_text(const HostStatus& status);

}  // namespace hostca::agent
