// Renewal as the agent does it: when it is due (a fraction of the current
// certificate's lifetime past its notBefore), and the RenewCertificate call,
// authenticated by mutual TLS with the host's current key and certificate.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <botan/asn1_time.h>
#include <botan/pk_keys.h>
#include <botan/x509cert.h>

#include "agent/agent_dir.h"
#include "agent/pin_set.h"
#include "common/clock.h"
#include "hostca/v1/host.pb.h"

namespace hostca::agent {

// Half of the lifetime, as the product asks; HOSTCA_RENEW_AT or --renew-at
// may say otherwise.
constexpr double kDefaultRenewAt = 0.5;

// Throws Error(kInvalidArgument) unless 0 <= fraction < 1.
double checked_renew_at(double fraction);

struct RenewalSchedule {
  TimePoint not_before;
  TimePoint not_after;
  double renew_at = kDefaultRenewAt;

  // not_before + renew_at x lifetime.
  TimePoint due() const;
  bool is_due(TimePoint now) const { return now >= due(); }
  bool expired(TimePoint now) const { return now >= not_after; }
  bool not_yet_valid(TimePoint now) const { return now < not_before; }
};

TimePoint time_of(const Botan::X509_Time& t);
RenewalSchedule schedule_of(const Botan::X509_Certificate& cert, double renew_at);

// Whole days from `now` to `t`, rounded down (negative once `t` has passed).
long long days_until(TimePoint t, TimePoint now);

// "ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-3072" or "rsa-4096" for an
// existing key, as make_key_and_request takes it; "ecdsa-p256" for another kind.
std::string key_type_of(const Botan::Private_Key& key);

enum class RenewalReason {
  kNotDue,          // keep the certificate
  kDue,             // its threshold of the lifetime has passed
  kIssuerRetiring,  // it comes from a CA key that no longer issues: renew at once
};

// What `renew --if-due` does with `cert` at `now`: renews it once due by
// its schedule, and at once, whatever the schedule says, when it does not
// come from `active_ca`, the key the server issues with now (a rollover was
// activated).
RenewalReason renewal_reason(const RenewalSchedule& schedule, const Botan::X509_Certificate& cert,
                             const Botan::X509_Certificate& active_ca, TimePoint now);

// What to do once a certificate can no longer renew, for one-line errors.
std::string reissue_advice(const std::string& host_id);

// RenewCertificate over mutual TLS (host.pem and host.key; the pinned CA
// keys are the only trusted roots). Throws Error with a line a person can act on:
// kPermissionDenied for a revoked certificate, kUnauthenticated for one the
// CA does not accept (expired, not its own), kUnavailable otherwise.
hostca::v1::CertificateResponse request_renewal(const AgentDir& dir, const PinSet& pins,
                                                const Identity& identity,
                                                const std::vector<std::uint8_t>& csr_der);

}  // namespace hostca::agent
