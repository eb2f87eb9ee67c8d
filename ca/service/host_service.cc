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

template <typename Body>
grpc::ServerUnaryReactor* HostServiceImpl::issue(const char* rpc,
                                                 grpc::CallbackServerContext* context, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  issuing_.post([rpc, context, reactor, body = std::move(body)] {
    reactor->Finish(handle(rpc, context, [&] {
      if (context->IsCancelled()) {
        throw unavailable("the call was cancelled while it waited its turn");
      }
      body();
    }));
  });
  return reactor;
}

grpc::ServerUnaryReactor* HostServiceImpl::RequestCertificate(
    grpc::CallbackServerContext* context, const v1::RequestCertificateRequest* request,
    v1::CertificateResponse* response) {
  return issue("RequestCertificate", context, [this, context, request, response] {
    EnrollmentRequest enrolment = from_proto(*request);
    enrolment.peer = client_address(*context, proxies_);
    const Enrollment e = authority_.enroll(enrolment);
    to_proto(e, issuer_view(authority_, e.certificate), response);
  });
}

namespace {
// The TLS client certificate the caller presented, if any (PEM).
std::string client_certificate(grpc::ServerContextBase* context) {
  // The transport asks for a client certificate and leaves its checks to
  // the authority: this CA's, unexpired, unrevoked in the database now.
  if (const auto auth = context->auth_context()) {
    const auto pems = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
    if (!pems.empty()) return std::string(pems.front().data(), pems.front().size());
  }
  return "";
}
}  // namespace

grpc::ServerUnaryReactor* HostServiceImpl::RenewCertificate(
    grpc::CallbackServerContext* context, const v1::RenewCertificateRequest* request,
    v1::CertificateResponse* response) {
  return issue("RenewCertificate", context, [this, context, request, response] {
    RenewalRequest renewal;
    renewal.client_certificate_pem = client_certificate(context);
    renewal.csr.assign(request->csr().begin(), request->csr().end());
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

grpc::ServerUnaryReactor* HostServiceImpl::ReissueCertificate(
    grpc::CallbackServerContext* context, const v1::ReissueCertificateRequest* request,
    v1::CertificateResponse* response) {
  return issue("ReissueCertificate", context, [this, context, request, response] {
    ReissueRequest reissue = from_proto(*request);
    reissue.peer = client_address(*context, proxies_);
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
