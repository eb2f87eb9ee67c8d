// Every conversion between hostca.v1 messages and domain values, in one place.
#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "domain/authority.h"
#include "hostca/v1/admin.pb.h"
#include "hostca/v1/host.pb.h"
#include "hostca/v1/revocation.pb.h"

namespace hostca::service {

void to_proto(TimePoint t, google::protobuf::Timestamp* out);
// Throws Error(kInvalidArgument) for a negative or out-of-range duration.
Duration from_proto(const google::protobuf::Duration& d, const std::string& what);

// The active CA and every key hosts should trust.
void to_proto(const CaCertificateView& ca, const std::vector<AnnouncedCaKey>& keys,
              v1::GetCACertificateResponse* out);
void to_proto(const AnnouncedCaKey& key, v1::CaKey* out);
void to_proto(const CaStatus& status, v1::GetCaStatusResponse* out);
void to_proto(const Dashboard& dashboard, v1::GetDashboardResponse* out);
void to_proto(const CrlShardHead& head, v1::CrlShardInfo* out);
void to_proto(const CrlShardPage& page, v1::ListCrlShardsResponse* out);
struct CrlShardQuery {
  int ca_generation = 0;  // 0: the active key
  std::optional<int> after_shard;
  std::uint32_t limit = 0;
};
CrlShardQuery from_proto(const v1::ListCrlShardsRequest& in);
// Where the HTTP endpoint serves one CRL: "/crl/g<k>/<shard>.crl", "ca" for the CA scope.
std::string crl_http_path(int ca_generation, int shard);
EnrollmentRequest from_proto(const v1::RequestCertificateRequest& in);
void to_proto(const Enrollment& enrollment, const CaCertificateView& ca,
              v1::CertificateResponse* out);

NewAuthorizationToken from_proto(const v1::CreateAuthorizationTokenRequest& in);
void to_proto(const CreatedToken& token, v1::CreateTokenResponse* out);
void to_proto(const TokenView& token, v1::TokenInfo* out);
void to_proto(const CertificateView& cert, v1::CertificateInfo* out);
void to_proto(const HostView& host, v1::HostInfo* out);
void to_proto(const store::AuditRow& row, v1::AuditEvent* out);

ReissueRequest from_proto(const v1::ReissueCertificateRequest& in);
void to_proto(const Reissue& reissue, const CaCertificateView& ca, v1::CertificateResponse* out);
NewReissueToken from_proto(const v1::CreateReissueTokenRequest& in);
RevocationRequest from_proto(const v1::RevokeCertificateRequest& in);
NameRelease from_proto(const v1::ReleaseHostNameRequest& in);
// Throws Error(kInvalidArgument) for a time before 1970 or after 9999.
TimePoint from_proto(const google::protobuf::Timestamp& t, const std::string& what);
store::AuditFilter from_proto(const v1::ListAuditEventsRequest& in);
HostListRequest from_proto(const v1::ListHostsRequest& in);
void to_proto(const store::CrlShardRow& crl, v1::CRL* out);
void to_proto(const store::RevocationEventRow& event, v1::RevocationEvent* out);

}  // namespace hostca::service
