#include "service/host_service.h"

#include "service/convert.h"
#include "service/status.h"

namespace hostca::service {

grpc::Status HostServiceImpl::GetCACertificate(grpc::ServerContext* context,
                                               const v1::GetCACertificateRequest*,
                                               v1::GetCACertificateResponse* response) {
  return handle("GetCACertificate", context,
                [&] { to_proto(authority_.ca_certificate(), response); });
}

grpc::Status HostServiceImpl::RequestCertificate(grpc::ServerContext* context,
                                                 const v1::RequestCertificateRequest* request,
                                                 v1::CertificateResponse* response) {
  return handle("RequestCertificate", context, [&] {
    EnrollmentRequest enrolment = from_proto(*request);
    enrolment.peer = context->peer();
    const Enrollment e = authority_.enroll(enrolment);
    to_proto(e, authority_.ca_certificate(), response);
  });
}

grpc::Status HostServiceImpl::RenewCertificate(grpc::ServerContext* context,
                                               const v1::RenewCertificateRequest* request,
                                               v1::CertificateResponse* response) {
  return handle("RenewCertificate", context, [&] {
    RenewalRequest renewal;
    // The transport asks for a client certificate and leaves its checks to
    // the authority: this CA's, unexpired, unrevoked in the database now.
    if (const auto auth = context->auth_context()) {
      const auto pems = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
      if (!pems.empty())
        renewal.client_certificate_pem.assign(pems.front().data(), pems.front().size());
    }
    renewal.csr.assign(request->csr().begin(), request->csr().end());
    const Renewal r = authority_.renew(renewal);
    to_proto(Enrollment{r.host_id, r.certificate}, authority_.ca_certificate(), response);
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
    report.peer = context->peer();
    response->set_recorded(authority_.record_certificate_failure(report));
  });
}

grpc::Status HostServiceImpl::ReissueCertificate(grpc::ServerContext* context,
                                                 const v1::ReissueCertificateRequest* request,
                                                 v1::CertificateResponse* response) {
  return handle("ReissueCertificate", context, [&] {
    ReissueRequest reissue = from_proto(*request);
    reissue.peer = context->peer();
    to_proto(authority_.reissue(reissue), authority_.ca_certificate(), response);
  });
}

}  // namespace hostca::service
