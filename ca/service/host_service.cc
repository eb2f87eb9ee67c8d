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
    const Enrollment e = authority_.enroll(from_proto(*request));
    to_proto(e, authority_.ca_certificate(), response);
  });
}

grpc::Status HostServiceImpl::ReissueCertificate(grpc::ServerContext* context,
                                                 const v1::ReissueCertificateRequest* request,
                                                 v1::CertificateResponse* response) {
  return handle("ReissueCertificate", context, [&] {
    to_proto(authority_.reissue(from_proto(*request)), authority_.ca_certificate(), response);
  });
}

}  // namespace hostca::service
