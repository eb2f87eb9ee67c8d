// AdminService: calls for administrators, each authenticated by an admin
// key in the "authorization: Bearer" metadata before anything else happens.
#pragma once

#include "domain/authority.h"
#include "hostca/v1/admin.grpc.pb.h"
#include "service/client_address.h"

namespace hostca::service {

class AdminServiceImpl final : public v1::AdminService::Service {
 public:
  AdminServiceImpl(Authority& authority, const TrustedProxies& proxies)
      : authority_(authority), proxies_(proxies) {}

  grpc::Status CreateAuthorizationToken(grpc::ServerContext* context,
                                        const v1::CreateAuthorizationTokenRequest* request,
                                        v1::CreateTokenResponse* response) override;
  grpc::Status CreateReissueToken(grpc::ServerContext* context,
                                  const v1::CreateReissueTokenRequest* request,
                                  v1::CreateTokenResponse* response) override;
  grpc::Status RevokeCertificate(grpc::ServerContext* context,
                                 const v1::RevokeCertificateRequest* request,
                                 v1::RevokeCertificateResponse* response) override;
  grpc::Status AllowAutoReissue(grpc::ServerContext* context,
                                const v1::AllowAutoReissueRequest* request,
                                v1::AllowAutoReissueResponse* response) override;
  grpc::Status AcknowledgeCertificateFailure(
      grpc::ServerContext* context, const v1::AcknowledgeCertificateFailureRequest* request,
      v1::AcknowledgeCertificateFailureResponse* response) override;
  grpc::Status ReleaseHostName(grpc::ServerContext* context,
                               const v1::ReleaseHostNameRequest* request,
                               v1::ReleaseHostNameResponse* response) override;
  grpc::Status GetCaStatus(grpc::ServerContext* context, const v1::GetCaStatusRequest* request,
                           v1::GetCaStatusResponse* response) override;
  grpc::Status GetDashboard(grpc::ServerContext* context, const v1::GetDashboardRequest* request,
                            v1::GetDashboardResponse* response) override;
  grpc::Status ListCrlShards(grpc::ServerContext* context, const v1::ListCrlShardsRequest* request,
                             v1::ListCrlShardsResponse* response) override;
  grpc::Status ListTokens(grpc::ServerContext* context, const v1::ListTokensRequest* request,
                          v1::ListTokensResponse* response) override;
  grpc::Status DeleteToken(grpc::ServerContext* context, const v1::DeleteTokenRequest* request,
                           v1::DeleteTokenResponse* response) override;
  grpc::Status ListHosts(grpc::ServerContext* context, const v1::ListHostsRequest* request,
                         v1::ListHostsResponse* response) override;
  grpc::Status GetHost(grpc::ServerContext* context, const v1::GetHostRequest* request,
                       v1::GetHostResponse* response) override;
  grpc::Status ListAuditEvents(grpc::ServerContext* context,
                               const v1::ListAuditEventsRequest* request,
                               v1::ListAuditEventsResponse* response) override;
  grpc::Status CreateAdminKey(grpc::ServerContext* context,
                              const v1::CreateAdminKeyRequest* request,
                              v1::CreateAdminKeyResponse* response) override;

 private:
  Actor authenticate(grpc::ServerContext* context, const char* rpc);
  Authority& authority_;
  const TrustedProxies& proxies_;
};

}  // namespace hostca::service
