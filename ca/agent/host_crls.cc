#include "agent/host_crls.h"

#include <algorithm>

#include <botan/data_src.h>

#include "agent/pinned_ca.h"
#include "client/channel.h"
#include "common/error.h"
#include "common/files.h"
#include "hostca/v1/revocation.grpc.pb.h"

namespace hostca::agent {

std::vector<ReceivedCrl> fetch_pinned_crls(const AgentDir& dir, const Pin& pin) {
  const Botan::X509_Certificate ca = pinned_ca_certificate(dir, pin);
  auto stub =
      hostca::v1::RevocationService::NewStub(client::open_channel(pinned_endpoint(dir, pin)));
  hostca::v1::GetCRLResponse res;
  auto ctx = client::call_context(std::chrono::seconds(30));
  const grpc::Status s = stub->GetCRL(ctx.get(), hostca::v1::GetCRLRequest{}, &res);
  if (!s.ok()) throw unavailable("cannot fetch the CRLs: " + client::describe(s));
  if (res.crls().empty()) {
    throw unavailable("the server at " + pin.server + " has no CRL; nothing was written");
  }

  std::vector<hostca::v1::CRL> all(res.crls().begin(), res.crls().end());
  if (res.has_ca_crl()) all.push_back(res.ca_crl());
  std::vector<ReceivedCrl> received;
  for (const auto& c : all) {
    const bool ca_scope = res.has_ca_crl() && &c == &all.back();
    const std::string what = ca_scope ? std::string("the CA scope CRL")
                                      : "the CRL of shard " + std::to_string(c.shard());
    Botan::X509_CRL crl;
    try {
      crl = parse_crl_der(c.crl_der(), what);
    } catch (const Error& e) {
      throw CertificateFailure(std::string("certificate failure: ") + e.what() +
                               "; nothing was written");
    }
    if (!issued_by(crl, ca)) {
      throw CertificateFailure("certificate failure: " + what +
                               " is not signed by the pinned CA; nothing was written");
    }
    received.push_back({c.shard(), ca_scope, c.crl_number(), c.crl_der(), crl});
  }
  // The CA scope first, as in the server's /crl/all.pem, then by shard.
  std::sort(received.begin(), received.end(), [](const auto& a, const auto& b) {
    return a.ca_scope != b.ca_scope ? a.ca_scope : a.shard < b.shard;
  });
  return received;
}

std::vector<Botan::X509_CRL> crls_on_file(const AgentDir& dir, const Pin& pin) {
  const std::string path = dir.crl_path();
  auto crls = parse_crl_bundle(read_file(path, "the CRLs"), path);
  Botan::X509_Certificate ca = [&] {
    try {
      return pinned_ca_certificate(dir, pin);
    } catch (const CertificateFailure& e) {
      throw failed_precondition(e.what());
    }
  }();
  for (const auto& crl : crls) {
    if (!issued_by(crl, ca)) {
      throw failed_precondition(path + " holds a CRL the pinned CA did not sign");
    }
  }
  return crls;
}

Botan::X509_Certificate host_certificate(const AgentDir& dir) {
  Botan::DataSource_Memory source(dir.certificate_pem());
  return Botan::X509_Certificate(source);
}

}  // namespace hostca::agent
