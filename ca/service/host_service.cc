#include "service/host_service.h"

#include "service/convert.h"
#include "service/status.h"

namespace hostca::service {

grpc::Status HostServiceImpl::GetCACertificate(grpc::ServerContext* context,
                                               const v1::GetCACertificateRequest*,
                                               v1::GetCACertificateResponse* response) {
  return handle("GetCACertificate", context, [&] {
    to_proto(authority_.ca_certificate(), authority_.announced_keys(), response);
  });
}

namespace {
// The CA certificate of the key that issued `issued` (a rollover may have
// activated another key since the call began).
CaCertificateView issuer_view(const Authority& authority, const IssuedCertificate& issued) {
  if (auto view = authority.ca_certificate(issued.ca_generation)) return *view;
  return authority.ca_certificate();
}
}  // namespace

FifoGate::Pass HostServiceImpl::enter_issuing(grpc::ServerContext* context) {
  FifoGate::Pass pass = issuing_.enter();
  // A caller that gave up while it waited its turn costs nothing more.
  if (context->IsCancelled()) throw unavailable("the call was cancelled while it waited its turn");
  return pass;
}

grpc::ServerUnaryReactor* HostServiceImpl::RequestCertificate(
    grpc::CallbackServerContext* context, const v1::RequestCertificateRequest* request,
    v1::CertificateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  enrolling_.post([this, context, request, response, reactor] {
    reactor->Finish(handle("RequestCertificate", context, [&] {
      if (context->IsCancelled()) {
        throw unavailable("the call was cancelled while it waited its turn");
      }
      EnrollmentRequest enrolment = from_proto(*request);
      enrolment.peer = client_address(*context, proxies_);
      const Enrollment e = authority_.enroll(enrolment);
      to_proto(e, issuer_view(authority_, e.certificate), response);
    }));
  });
  return reactor;
}

namespace {
// The TLS client certificate the caller presented, if any (PEM).
std::string client_certificate(grpc::ServerContext* context) {
  // The transport asks for a client certificate and leaves its checks to
  // the authority: this CA's, unexpired, unrevoked in the database now.
  if (const auto auth = context->auth_context()) {
    const auto pems = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
    if (!pems.empty()) return std::string(pems.front().data(), pems.front().size());
  }
  return "";
}
}  // namespace

grpc::Status HostServiceImpl::RenewCertificate(grpc::ServerContext* context,
                                               const v1::RenewCertificateRequest* request,
                                               v1::CertificateResponse* response) {
  return handle("RenewCertificate", context, [&] {
    RenewalRequest renewal;
    renewal.client_certificate_pem = client_certificate(context);
    renewal.csr.assign(request->csr().begin(), request->csr().end());
    const auto pass = enter_issuing(context);
    const Renewal r = authority_.renew(renewal);
    to_proto(Enrollment{r.host_id, r.certificate}, issuer_view(authority_, r.certificate),
             response);
  });
}

grpc::Status HostServiceImpl::ReportCertificateFailure(
    grpc::ServerContext* context, const v1::ReportCertificateFailureRequest* request,
    v1::ReportCertificateFailureResponse* response) {
  return handle("ReportCertificateFailure", context, [&] {
    CertificateFailureReport report;
    report.host_id = request->host_id();
    report.pinned_spki_sha256 = request->pinned_spki_sha256();
    report.presented_spki_sha256 = request->presented_spki_sha256();
    report.server = request->server();
    report.peer = client_address(*context, proxies_);
    report.client_certificate_pem = client_certificate(context);
    response->set_recorded(authority_.record_certificate_failure(report));
  });
}

grpc::Status HostServiceImpl::ReissueCertificate(grpc::ServerContext* context,
                                                 const v1::ReissueCertificateRequest* request,
                                                 v1::CertificateResponse* response) {
  return handle("ReissueCertificate", context, [&] {
    ReissueRequest reissue = from_proto(*request);
    reissue.peer = client_address(*context, proxies_);
    const auto pass = enter_issuing(context);
    const Reissue r = authority_.reissue(reissue);
    to_proto(r, issuer_view(authority_, r.certificate), response);
  });
}

grpc::Status HostServiceImpl::ReportTrustedCas(grpc::ServerContext* context,
                                               const v1::ReportTrustedCasRequest* request,
                                               v1::ReportTrustedCasResponse*) {
  return handle("ReportTrustedCas", context, [&] {
    TrustReport report;
    report.client_certificate_pem = client_certificate(context);
    report.spki_sha256.assign(request->spki_sha256().begin(), request->spki_sha256().end());
    authority_.record_trusted_cas(report);
  });
}

}  // namespace hostca::service
