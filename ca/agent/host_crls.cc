#include "agent/host_crls.h"

#include <algorithm>

#include <botan/data_src.h>
#include <botan/pk_keys.h>
#include <botan/pkix_types.h>

#include "agent/pinned_ca.h"
#include "client/channel.h"
#include "common/error.h"
#include "common/files.h"
#include "hostca/v1/revocation.grpc.pb.h"

namespace hostca::agent {

const PinnedCa* pinned_signer_of(const Botan::X509_CRL& crl, const PinSet& pins,
                                 const std::string& what) {
  const std::vector<std::uint8_t> aki = crl.authority_key_id();
  bool named = false;
  for (const auto& k : pins.keys()) {
    const bool names_it = aki.empty() ? crl.issuer_dn() == k.certificate.subject_dn()
                                      : aki == k.certificate.subject_key_id();
    if (!names_it) continue;
    named = true;
    if (issued_by(crl, k.certificate)) return &k;
  }
  if (named) {
    throw CertificateFailure("certificate failure: " + what +
                             " is not signed by the pinned CA key it names; nothing was written");
  }
  return nullptr;
}

FetchedCrls fetch_pinned_crls(const AgentDir& dir, const PinSet& pins) {
  auto stub =
      hostca::v1::RevocationService::NewStub(client::open_channel(pinned_endpoint(dir, pins)));
  hostca::v1::GetCRLResponse res;
  auto ctx = client::call_context(std::chrono::seconds(30));
  const grpc::Status s = stub->GetCRL(ctx.get(), hostca::v1::GetCRLRequest{}, &res);
  if (!s.ok()) throw unavailable("cannot fetch the CRLs: " + client::describe(s));
  if (res.crls().empty()) {
    throw unavailable("the server at " + pins.server() + " has no CRL; nothing was written");
  }

  struct Sent {
    const hostca::v1::CRL* crl;
    bool ca_scope;
  };
  std::vector<Sent> sent;
  for (const auto& c : res.crls()) sent.push_back({&c, false});
  if (res.has_ca_crl()) sent.push_back({&res.ca_crl(), true});
  for (const auto& c : res.other_ca_crls()) sent.push_back({&c, true});

  FetchedCrls out;
  for (const auto& [c, ca_scope] : sent) {
    std::string what = ca_scope ? std::string("the CA scope CRL")
                                : "the CRL of shard " + std::to_string(c->shard());
    if (c->ca_generation() != 0) what += " of CA key " + std::to_string(c->ca_generation());
    Botan::X509_CRL crl;
    try {
      crl = parse_crl_der(c->crl_der(), what);
    } catch (const Error& e) {
      throw CertificateFailure(std::string("certificate failure: ") + e.what() +
                               "; nothing was written");
    }
    const PinnedCa* signer = pinned_signer_of(crl, pins, what);
    if (signer == nullptr) {
      ++out.skipped;
      continue;
    }
    out.crls.push_back({c->shard(), ca_scope, c->crl_number(), c->ca_generation(),
                        signer->spki_sha256, c->crl_der(), crl});
  }
  if (out.crls.empty()) {
    throw unavailable("the server at " + pins.server() +
                      " sent no CRL of a pinned CA key; nothing was written");
  }
  // The CA scopes first, as in the server's /crl/all.pem, then by key and shard.
  std::stable_sort(out.crls.begin(), out.crls.end(), [](const auto& a, const auto& b) {
    if (a.ca_scope != b.ca_scope) return a.ca_scope;
    if (a.ca_generation != b.ca_generation) return a.ca_generation < b.ca_generation;
    return a.shard < b.shard;
  });
  return out;
}

std::vector<Botan::X509_CRL> crls_on_file(const AgentDir& dir, const PinSet& pins) {
  const std::string path = dir.crl_path();
  std::vector<Botan::X509_CRL> kept;
  for (const auto& crl : parse_crl_bundle(read_file(path, "the CRLs"), path)) {
    try {
      if (pinned_signer_of(crl, pins, "a CRL in " + path) != nullptr) kept.push_back(crl);
    } catch (const CertificateFailure&) {
      throw failed_precondition(path + " holds a CRL the pinned CA did not sign");
    }
  }
  if (kept.empty()) {
    throw failed_precondition(path +
                              " holds no CRL of a pinned CA key; run 'hostca-agent fetch-crl'");
  }
  return kept;
}

Botan::X509_Certificate host_certificate(const AgentDir& dir) {
  Botan::DataSource_Memory source(dir.certificate_pem());
  return Botan::X509_Certificate(source);
}

}  // namespace hostca::agent
