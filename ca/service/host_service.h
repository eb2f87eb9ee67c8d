// HostService: the calls hosts make. Translates messages and calls the
// authority; no business rule lives here.
#pragma once

#include "domain/authority.h"
#include "hostca/v1/host.grpc.pb.h"
#include "service/client_address.h"
#include "service/work_pool.h"

namespace hostca::service {

// The three calls that check a CSR, sign and write (enrol, renew,
// reissue) are on gRPC's callback API: each returns at once and its work
// runs on a pool of `concurrent_issuance` threads, first come first served,
// so the calls in progress never outnumber what the cores can sign. The
// other calls are synchronous.
class HostServiceImpl final
    : public v1::HostService::WithCallbackMethod_RequestCertificate<
          v1::HostService::WithCallbackMethod_RenewCertificate<
              v1::HostService::WithCallbackMethod_ReissueCertificate<v1::HostService::Service>>> {
 public:
  HostServiceImpl(Authority& authority, const TrustedProxies& proxies,
                  std::size_t concurrent_issuance)
      : authority_(authority), proxies_(proxies), issuing_(concurrent_issuance) {}

  grpc::Status GetCACertificate(grpc::ServerContext* context, const v1::GetCACertificateRequest*,
                                v1::GetCACertificateResponse* response) override;
  grpc::ServerUnaryReactor* RequestCertificate(grpc::CallbackServerContext* context,
                                               const v1::RequestCertificateRequest* request,
                                               v1::CertificateResponse* response) override;
  grpc::ServerUnaryReactor* RenewCertificate(grpc::CallbackServerContext* context,
                                             const v1::RenewCertificateRequest* request,
                                             v1::CertificateResponse* response) override;
  grpc::Status ReportCertificateFailure(grpc::ServerContext* context,
                                        const v1::ReportCertificateFailureRequest* request,
                                        v1::ReportCertificateFailureResponse* response) override;
  grpc::ServerUnaryReactor* ReissueCertificate(grpc::CallbackServerContext* context,
                                               const v1::ReissueCertificateRequest* request,
                                               v1::CertificateResponse* response) override;
  grpc::Status ReportTrustedCas(grpc::ServerContext* context,
                                const v1::ReportTrustedCasRequest* request,
                                v1::ReportTrustedCasResponse* response) override;

 private:
  // Runs `body` on the pool and finishes the call with its status; a
  // caller that gave up while it waited its turn costs nothing more.
  template <typename Body>
  grpc::ServerUnaryReactor* issue(const char* rpc, grpc::CallbackServerContext* context, Body body);

  Authority& authority_;
  const TrustedProxies& proxies_;
  WorkPool issuing_;
};

}  // namespace hostca::service
