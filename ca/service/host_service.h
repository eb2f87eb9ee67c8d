// HostService: the calls hosts make. Translates messages and calls the
// authority; no business rule lives here.
#pragma once

#include "common/fifo_gate.h"
#include "domain/authority.h"
#include "hostca/v1/host.grpc.pb.h"
#include "service/client_address.h"
#include "service/work_pool.h"

namespace hostca::service {

class HostServiceImpl final
    : public v1::HostService::WithCallbackMethod_RequestCertificate<v1::HostService::Service> {
 public:
  HostServiceImpl(Authority& authority, const TrustedProxies& proxies,
                  std::size_t concurrent_issuance = 0)
      : authority_(authority),
        proxies_(proxies),
        issuing_(concurrent_issuance),
        enrolling_(concurrent_issuance) {}

  grpc::Status GetCACertificate(grpc::ServerContext* context, const v1::GetCACertificateRequest*,
                                v1::GetCACertificateResponse* response) override;
  // The callback API: the work runs on a pool of concurrent_issuance
  // threads, not on a thread per call.
  grpc::ServerUnaryReactor* RequestCertificate(grpc::CallbackServerContext* context,
                                               const v1::RequestCertificateRequest* request,
                                               v1::CertificateResponse* response) override;
  grpc::Status RenewCertificate(grpc::ServerContext* context,
                                const v1::RenewCertificateRequest* request,
                                v1::CertificateResponse* response) override;
  grpc::Status ReportCertificateFailure(grpc::ServerContext* context,
                                        const v1::ReportCertificateFailureRequest* request,
                                        v1::ReportCertificateFailureResponse* response) override;
  grpc::Status ReissueCertificate(grpc::ServerContext* context,
                                  const v1::ReissueCertificateRequest* request,
                                  v1::CertificateResponse* response) override;
  grpc::Status ReportTrustedCas(grpc::ServerContext* context,
                                const v1::ReportTrustedCasRequest* request,
                                v1::ReportTrustedCasResponse* response) override;

 private:
  FifoGate::Pass enter_issuing(grpc::ServerContext* context);

  Authority& authority_;
  const TrustedProxies& proxies_;
  // The calls that check a CSR, sign and write (enrol, renew, reissue) run
  // at most this many at once, first come first served.
  FifoGate issuing_;
  WorkPool enrolling_;
};

}  // namespace hostca::service
