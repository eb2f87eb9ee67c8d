#include "agent/pin_check.h"

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

std::string mismatch_text(const Pin& pin, const std::string& server, const PresentedCa& ca) {
  return "certificate failure: the server at " + server + " presents a CA with public key " +
         "SHA-256 " + ca.spki_sha256 + " (certificate " + ca.sha256 + "), but this host pinned " +
         pin.spki_sha256 + " (certificate " + pin.sha256_fingerprint +
         "); the agent refuses to talk to this server. Check with your security team; only if "
         "the change was expected, re-pin with 'hostca-agent repin --fingerprint <sha256 of the "
         "new CA>'";
}

}  // namespace

PresentedCa fetch_presented_ca(const std::string& server) {
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
  const std::string& der = res.certificate_der();
  try {
    Botan::X509_Certificate cert(std::vector<std::uint8_t>(der.begin(), der.end()));
    return {cert, der, certificate_fingerprint(cert), spki_fingerprint(cert)};
  } catch (const std::exception&) {
    throw CertificateFailure("certificate failure: the server at " + server +
                             " sent something that is not a certificate as its CA");
  }
}

PinMismatch::PinMismatch(Pin pin, std::string server, PresentedCa presented)
    : CertificateFailure(mismatch_text(pin, server, presented)),
      pin_(std::move(pin)),
      server_(std::move(server)),
      presented_(std::move(presented)) {}

PresentedCa check_server_against_pin(const Pin& pin, const std::string& server) {
  PresentedCa ca = fetch_presented_ca(server);
  if (ca.spki_sha256 != pin.spki_sha256) throw PinMismatch(pin, server, std::move(ca));
  return ca;
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
