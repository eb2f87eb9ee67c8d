#include "agent/renewal.h"

#include <cmath>

#include <botan/ecc_key.h>

#include "agent/pinned_ca.h"
#include "client/channel.h"
#include "common/error.h"
#include "hostca/v1/host.grpc.pb.h"

namespace hostca::agent {

namespace v1 = hostca::v1;

namespace {
// The server's own words up to its advice (which we give ourselves).
std::string server_detail(const grpc::Status& s) {
  const std::string& m = s.error_message();
  return m.substr(0, m.find("; "));
}
}  // namespace

double checked_renew_at(double fraction) {
  if (!(fraction >= 0.0 && fraction < 1.0)) {
    throw invalid_argument(
        "the renewal threshold (--renew-at, HOSTCA_RENEW_AT) is the fraction of the "
        "certificate's lifetime after which it renews: at least 0 and below 1, e.g. 0.5");
  }
  return fraction;
}

TimePoint RenewalSchedule::due() const {
  const auto lifetime = not_after - not_before;
  return not_before + Duration(static_cast<Duration::rep>(
                          std::floor(static_cast<double>(lifetime.count()) * renew_at)));
}

TimePoint time_of(const Botan::X509_Time& t) {
  return TimePoint(std::chrono::duration_cast<Duration>(t.to_std_timepoint().time_since_epoch()));
}

RenewalSchedule schedule_of(const Botan::X509_Certificate& cert, double renew_at) {
  return {time_of(cert.not_before()), time_of(cert.not_after()), checked_renew_at(renew_at)};
}

RenewalReason renewal_reason(const RenewalSchedule& schedule, const Botan::X509_Certificate& cert,
                             const Botan::X509_Certificate& active_ca, TimePoint now) {
  if (issuer_among({pinned_ca(PinRole::kCurrent, active_ca)}, cert) == nullptr) {
    return RenewalReason::kIssuerRetiring;
  }
  return schedule.is_due(now) ? RenewalReason::kDue : RenewalReason::kNotDue;
}

long long days_until(TimePoint t, TimePoint now) {
  const auto days =
      std::chrono::duration_cast<std::chrono::duration<double, std::ratio<86400>>>(t - now);
  return static_cast<long long>(std::floor(days.count()));
}

std::string key_type_of(const Botan::Private_Key& key) {
  const std::string algorithm = key.algo_name();
  if (algorithm == "Ed25519") return "ed25519";
  if (algorithm == "RSA") return key.key_length() > 3072 ? "rsa-4096" : "rsa-3072";
  if (const auto* ec = dynamic_cast<const Botan::EC_PublicKey*>(&key)) {
    if (ec->domain().get_curve_oid() == Botan::OID::from_string("secp384r1")) return "ecdsa-p384";
  }
  return "ecdsa-p256";
}

std::string reissue_advice(const std::string& host_id) {
  return "ask an admin for a reissue token (hostca-admin reissue-token create --host-id " +
         host_id + ") and run 'hostca-agent reissue --token <token>'";
}

v1::CertificateResponse request_renewal(const AgentDir& dir, const PinSet& pins,
                                        const Identity& identity,
                                        const std::vector<std::uint8_t>& csr_der) {
  auto stub =
      v1::HostService::NewStub(client::open_channel(pinned_endpoint(dir, pins, /*as_host=*/true)));

  v1::RenewCertificateRequest req;
  req.set_csr(csr_der.data(), csr_der.size());
  v1::CertificateResponse res;
  auto ctx = client::call_context(std::chrono::seconds(30));
  const grpc::Status s = stub->RenewCertificate(ctx.get(), req, &res);
  if (s.ok()) return res;
  const std::string serial = identity.serial_hex;
  switch (s.error_code()) {
    case grpc::StatusCode::PERMISSION_DENIED:
      throw permission_denied(
          "renewal refused: this host's certificate " + serial +
          " is revoked (the server says: " + server_detail(s) +
          "); a revoked certificate cannot renew: " + reissue_advice(identity.host_id));
    case grpc::StatusCode::UNAUTHENTICATED:
      throw unauthenticated("renewal refused: the CA does not accept this host's certificate " +
                            serial + " (the server says: " + server_detail(s) +
                            "); an expired certificate, or one of another CA, cannot renew: " +
                            reissue_advice(identity.host_id));
    default:
      throw unavailable("renewal refused: " + client::describe(s));
  }
}

}  // namespace hostca::agent
