#include "service/admin_service.h"

#include "service/admin_credential.h"
#include "service/convert.h"
#include "service/status.h"

namespace hostca::service {

Actor AdminServiceImpl::authenticate(grpc::ServerContext* context, const char* rpc) {
  std::string header;
  const auto& md = context->client_metadata();
  if (const auto it = md.find("authorization"); it != md.end()) {
    header.assign(it->second.data(), it->second.size());
  }
  return authority_.authenticate_admin(admin_credential(header), client_address(*context, proxies_),
                                       rpc);
}

grpc::Status AdminServiceImpl::CreateAuthorizationToken(
    grpc::ServerContext* context, const v1::CreateAuthorizationTokenRequest* request,
    v1::CreateTokenResponse* response) {
  return handle("CreateAuthorizationToken", context, [&] {
    const Actor actor = authenticate(context, "CreateAuthorizationToken");
    to_proto(authority_.create_authorization_token(actor, from_proto(*request)), response);
  });
}

grpc::Status AdminServiceImpl::CreateReissueToken(grpc::ServerContext* context,
                                                  const v1::CreateReissueTokenRequest* request,
                                                  v1::CreateTokenResponse* response) {
  return handle("CreateReissueToken", context, [&] {
    const Actor actor = authenticate(context, "CreateReissueToken");
    to_proto(authority_.create_reissue_token(actor, from_proto(*request)), response);
  });
}

grpc::Status AdminServiceImpl::RevokeCertificate(grpc::ServerContext* context,
                                                 const v1::RevokeCertificateRequest* request,
                                                 v1::RevokeCertificateResponse* response) {
  return handle("RevokeCertificate", context, [&] {
    const Actor actor = authenticate(context, "RevokeCertificate");
    for (const auto& serial : authority_.revoke(actor, from_proto(*request))) {
      response->add_revoked_serials_hex(serial);
    }
  });
}

grpc::Status AdminServiceImpl::AllowAutoReissue(grpc::ServerContext* context,
                                                const v1::AllowAutoReissueRequest* request,
                                                v1::AllowAutoReissueResponse* response) {
  return handle("AllowAutoReissue", context, [&] {
    const Actor actor = authenticate(context, "AllowAutoReissue");
    if (!request->has_valid_for())
      throw invalid_argument("give valid_for: how long the window stays open");
    to_proto(authority_.allow_auto_reissue(actor, request->host_id(),
                                           from_proto(request->valid_for(), "valid_for")),
             response->mutable_until());
  });
}

grpc::Status AdminServiceImpl::ReleaseHostName(grpc::ServerContext* context,
                                               const v1::ReleaseHostNameRequest* request,
                                               v1::ReleaseHostNameResponse* response) {
  return handle("ReleaseHostName", context, [&] {
    const Actor actor = authenticate(context, "ReleaseHostName");
    for (const auto& serial : authority_.release_host_name(actor, from_proto(*request))) {
      response->add_revoked_serials_hex(serial);
    }
  });
}

grpc::Status AdminServiceImpl::AcknowledgeCertificateFailure(
    grpc::ServerContext* context, const v1::AcknowledgeCertificateFailureRequest* request,
    v1::AcknowledgeCertificateFailureResponse*) {
  return handle("AcknowledgeCertificateFailure", context, [&] {
    const Actor actor = authenticate(context, "AcknowledgeCertificateFailure");
    authority_.acknowledge_certificate_failure(actor, request->host_id(), request->note());
  });
}

grpc::Status AdminServiceImpl::ListTokens(grpc::ServerContext* context,
                                          const v1::ListTokensRequest* request,
                                          v1::ListTokensResponse* response) {
  return handle("ListTokens", context, [&] {
    authenticate(context, "ListTokens");
    for (const auto& t : authority_.list_tokens(request->include_deleted())) {
      to_proto(t, response->add_tokens());
    }
  });
}

grpc::Status AdminServiceImpl::DeleteToken(grpc::ServerContext* context,
                                           const v1::DeleteTokenRequest* request,
                                           v1::DeleteTokenResponse*) {
  return handle("DeleteToken", context, [&] {
    const Actor actor = authenticate(context, "DeleteToken");
    authority_.delete_token(actor, request->token_id());
  });
}

grpc::Status AdminServiceImpl::ListHosts(grpc::ServerContext* context,
                                         const v1::ListHostsRequest* request,
                                         v1::ListHostsResponse* response) {
  return handle("ListHosts", context, [&] {
    authenticate(context, "ListHosts");
    const HostPage page = authority_.list_hosts(from_proto(*request));
    for (const auto& h : page.hosts) to_proto(h, response->add_hosts());
    response->set_next_page_token(page.next_page_token);
  });
}

grpc::Status AdminServiceImpl::GetHost(grpc::ServerContext* context,
                                       const v1::GetHostRequest* request,
                                       v1::GetHostResponse* response) {
  return handle("GetHost", context, [&] {
    authenticate(context, "GetHost");
    const HostDetails details = authority_.get_host(request->host_id());
    to_proto(details.host, response->mutable_host());
    for (const auto& c : details.certificates) to_proto(c, response->add_certificates());
  });
}

grpc::Status AdminServiceImpl::ListAuditEvents(grpc::ServerContext* context,
                                               const v1::ListAuditEventsRequest* request,
                                               v1::ListAuditEventsResponse* response) {
  return handle("ListAuditEvents", context, [&] {
    authenticate(context, "ListAuditEvents");
    for (const auto& row : authority_.list_audit(from_proto(*request))) {
      to_proto(row, response->add_events());
    }
  });
}

grpc::Status AdminServiceImpl::CreateAdminKey(grpc::ServerContext* context,
                                              const v1::CreateAdminKeyRequest* request,
                                              v1::CreateAdminKeyResponse* response) {
  return handle("CreateAdminKey", context, [&] {
    const Actor actor = authenticate(context, "CreateAdminKey");
    const CreatedAdminKey key = authority_.create_admin_key(actor, request->name());
    response->set_admin_key(key.key.reveal());
    response->set_key_id(key.key_id);
  });
}

grpc::Status AdminServiceImpl::GetCaStatus(grpc::ServerContext* context,
                                           const v1::GetCaStatusRequest*,
                                           v1::GetCaStatusResponse* response) {
  return handle("GetCaStatus", context, [&] {
    authenticate(context, "GetCaStatus");
    to_proto(authority_.ca_status(), response);
  });
}

grpc::Status AdminServiceImpl::GetDashboard(grpc::ServerContext* context,
                                            const v1::GetDashboardRequest*,
                                            v1::GetDashboardResponse* response) {
  return handle("GetDashboard", context, [&] {
    authenticate(context, "GetDashboard");
    to_proto(authority_.dashboard(), response);
  });
}

grpc::Status AdminServiceImpl::ListCrlShards(grpc::ServerContext* context,
                                             const v1::ListCrlShardsRequest* request,
                                             v1::ListCrlShardsResponse* response) {
  return handle("ListCrlShards", context, [&] {
    authenticate(context, "ListCrlShards");
    const CrlShardQuery q = from_proto(*request);
    to_proto(authority_.crl_shard_page(q.ca_generation, q.after_shard, q.limit), response);
  });
}

}  // namespace hostca::service
