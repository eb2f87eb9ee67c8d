// The request messages: the input parsed as each hostca.v1 request a client
// may send, then taken where its handler takes it (service/convert.cc into
// the Authority), through every check that needs no database.
#include <cstddef>
#include <cstdint>
#include <limits>

#include "fuzz_support.h"
#include "service/convert.h"

namespace {

using namespace hostca;

template <typename Message, typename Handle>
void as(const char* what, const std::uint8_t* data, std::size_t size, Handle handle) {
  Message message;
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max())) return;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return;
  fuzz::expect_only_errors(what, [&] { handle(message); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::quiet_protobuf_logs();
  Authority& authority = fuzz::authority();
  const Actor admin = fuzz::fuzz_admin();

  // HostService
  as<v1::RequestCertificateRequest>("RequestCertificate", data, size, [&](const auto& m) {
    authority.enroll(service::from_proto(m));
  });
  as<v1::ReissueCertificateRequest>("ReissueCertificate", data, size, [&](const auto& m) {
    authority.reissue(service::from_proto(m));
  });
  as<v1::RenewCertificateRequest>("RenewCertificate", data, size, [&](const auto& m) {
    RenewalRequest renewal;  // no client certificate: the transport gave none
    renewal.csr.assign(m.csr().begin(), m.csr().end());
    authority.renew(renewal);
  });
  as<v1::ReportCertificateFailureRequest>(
      "ReportCertificateFailure", data, size, [&](const auto& m) {
        CertificateFailureReport report;
        report.host_id = m.host_id();
        report.pinned_spki_sha256 = m.pinned_spki_sha256();
        report.presented_spki_sha256 = m.presented_spki_sha256();
        report.server = m.server();
        report.peer = "ipv4:127.0.0.1:1";
        authority.record_certificate_failure(report);
      });

  // AdminService, past authentication (fuzzed in secret_token_fuzzer)
  as<v1::CreateAuthorizationTokenRequest>(
      "CreateAuthorizationToken", data, size,
      [&](const auto& m) { authority.create_authorization_token(admin, service::from_proto(m)); });
  as<v1::CreateReissueTokenRequest>("CreateReissueToken", data, size, [&](const auto& m) {
    authority.create_reissue_token(admin, service::from_proto(m));
  });
  as<v1::RevokeCertificateRequest>("RevokeCertificate", data, size, [&](const auto& m) {
    authority.revoke(admin, service::from_proto(m));
  });
  as<v1::AllowAutoReissueRequest>("AllowAutoReissue", data, size, [&](const auto& m) {
    if (!m.has_valid_for()) return;  // the handler refuses it before the authority
    authority.allow_auto_reissue(admin, m.host_id(),
                                 service::from_proto(m.valid_for(), "valid_for"));
  });
  as<v1::DeleteTokenRequest>("DeleteToken", data, size,
                             [&](const auto& m) { authority.delete_token(admin, m.token_id()); });
  as<v1::ListHostsRequest>("ListHosts", data, size,
                           [&](const auto& m) { authority.list_hosts(service::from_proto(m)); });
  as<v1::GetHostRequest>("GetHost", data, size,
                         [&](const auto& m) { authority.get_host(m.host_id()); });
  as<v1::ListAuditEventsRequest>("ListAuditEvents", data, size, [&](const auto& m) {
    authority.list_audit(service::from_proto(m));
  });
  as<v1::CreateAdminKeyRequest>("CreateAdminKey", data, size, [&](const auto& m) {
    authority.create_admin_key(admin, m.name());
  });
  return 0;
}
