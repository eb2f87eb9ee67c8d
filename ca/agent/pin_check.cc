#include "agent/pin_check.h"

#include <thread>

#include "client/channel.h"
#include "client/cli.h"
#include "client/server_verifier.h"
#include "common/error.h"
#include "hostca/v1/host.grpc.pb.h"
#include "pki/keys.h"

namespace hostca::agent {

namespace v1 = hostca::v1;

namespace {

constexpr std::chrono::seconds kCallDeadline{15};
// A report is a courtesy to the admins; it must not hold the agent up.
constexpr std::chrono::seconds kReportDeadline{3};

std::string mismatch_text(const Pin& pin, const std::string& server, const PresentedCa& ca,
                          const std::string& why) {
  std::string others;
  for (const auto& k : pin.other_keys) others += ", " + k.spki_sha256 + " (" + k.role + ")";
  return "certificate failure: the server at " + server + " presents a CA with public key " +
         "SHA-256 " + ca.spki_sha256 + " (certificate " + ca.sha256 + "), but this host pinned " +
         pin.spki_sha256 + " (certificate " + pin.sha256_fingerprint + ")" + others +
         (why.empty() ? std::string() : " and cannot trust the new key: " + why) +
         "; the agent refuses to talk to this server. Check with your security team; only if "
         "the change was expected, re-pin with 'hostca-agent repin --fingerprint <sha256 of the "
         "new CA>'";
}

}  // namespace

CaAnnouncement fetch_ca_announcement(const std::string& server) {
  auto stub = v1::HostService::NewStub(client::open_unverified_channel(server));
  v1::GetCACertificateResponse res;
  auto ctx = client::call_context(kCallDeadline);
  const grpc::Status s = stub->GetCACertificate(ctx.get(), {}, &res);
  if (!s.ok()) {
    if (!client::last_server_refusal().empty()) {
      throw CertificateFailure("certificate failure: the server at " + server +
                               " is not a hostca server: " + client::last_server_refusal() +
                               "; the agent refuses to talk to it");
    }
    throw unavailable("cannot fetch the CA certificate from " + server + ": " +
                      client::describe(s));
  }
  return parse_announcement(res, server);
}

PresentedCa fetch_presented_ca(const std::string& server) {
  return fetch_ca_announcement(server).active;
}

PinMismatch::PinMismatch(Pin pin, std::string server, PresentedCa presented, const std::string& why)
    : CertificateFailure(mismatch_text(pin, server, presented, why)),
      pin_(std::move(pin)),
      server_(std::move(server)),
      presented_(std::move(presented)) {}

PinUpdate follow_server(
    const PinSet& pins, const std::string& server,
    const std::optional<std::vector<Botan::X509_Certificate>>& host_certificates,
    std::chrono::system_clock::time_point now, std::chrono::milliseconds retry_after) {
  CaAnnouncement announced = fetch_ca_announcement(server);
  PinUpdate update = follow_announcement(pins, announced, host_certificates, now);
  if (update.active_pinned) return update;
  std::this_thread::sleep_for(retry_after);
  announced = fetch_ca_announcement(server);
  update = follow_announcement(pins, announced, host_certificates, now + retry_after);
  if (update.active_pinned) return update;
  throw PinMismatch(pins.record(), server, std::move(announced.active), update.active_refusal);
}

void check_tls_chains_to(const std::string& server, const std::string& tls_server_name,
                         const PresentedCa& ca) {
  auto stub = v1::HostService::NewStub(client::open_channel(
      client::endpoint_for(server, ca.certificate.PEM_encode(), tls_server_name)));
  v1::GetCACertificateResponse again;
  auto ctx = client::call_context(kCallDeadline);
  const grpc::Status s = stub->GetCACertificate(ctx.get(), {}, &again);
  if (!s.ok() || again.certificate_der() != ca.der) {
    throw CertificateFailure("certificate failure: the server at " + server +
                             " does not present a TLS certificate issued by the CA it sent" +
                             (s.ok() ? std::string() : " (" + client::describe(s) + ")"));
  }
}

FailureReport report_certificate_failure(const PinMismatch& failure, const std::string& host_id,
                                         const std::string& cert_pem, const std::string& key_pem) {
  if (host_id.empty()) return FailureReport::kNoHostId;
  try {
    v1::ReportCertificateFailureRequest req;
    req.set_host_id(host_id);
    req.set_pinned_spki_sha256(failure.pin().spki_sha256);
    req.set_presented_spki_sha256(failure.presented().spki_sha256);
    req.set_server(failure.server());
    auto stub = v1::HostService::NewStub(
        client::open_unverified_channel(failure.server(), cert_pem, key_pem));
    v1::ReportCertificateFailureResponse res;
    auto ctx = client::call_context(kReportDeadline);
    if (!stub->ReportCertificateFailure(ctx.get(), req, &res).ok()) {
      return FailureReport::kNotDelivered;
    }
    return res.recorded() ? FailureReport::kRecorded : FailureReport::kUnknownHost;
  } catch (const std::exception&) {
    return FailureReport::kNotDelivered;
  }
}

std::string report_trusted_cas(const AgentDir& dir, const PinSet& pins) {
  try {
    auto stub = v1::HostService::NewStub(
        client::open_channel(pinned_endpoint(dir, pins, /*as_host=*/true)));
    v1::ReportTrustedCasRequest req;
    for (const auto& spki : pins.spki_fingerprints()) req.add_spki_sha256(spki);
    v1::ReportTrustedCasResponse res;
    auto ctx = client::call_context(kReportDeadline);
    const grpc::Status s = stub->ReportTrustedCas(ctx.get(), req, &res);
    // A server from before rollovers keeps no such record: nothing to tell it.
    if (s.ok() || s.error_code() == grpc::StatusCode::UNIMPLEMENTED) return {};
    std::string why = client::describe(s);
    // A refused handshake here must not turn the command's own outcome
    // into a certificate failure (see exit codes in hostca_agent.cc).
    client::clear_server_refusal();
    return why;
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::string certificate_failure_line(const PinMismatch& failure, FailureReport report) {
  std::string note;
  switch (report) {
    case FailureReport::kRecorded:
      note = "(reported to the server)";
      break;
    case FailureReport::kUnknownHost:
      note = "(reported to the server, which does not know this host)";
      break;
    case FailureReport::kNoHostId:
      note = "(could not report it: this host has no host ID yet)";
      break;
    case FailureReport::kNotDelivered:
      note = "(could not report it)";
      break;
  }
  return std::string(failure.what()) + " " + note;
}

}  // namespace hostca::agent
