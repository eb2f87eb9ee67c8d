#include "agent/enrolment.h"

#include <algorithm>
#include <cctype>

#include <botan/hex.h>
#include <botan/pkcs10.h>
#include <botan/pkcs8.h>
#include <botan/system_rng.h>
#include <botan/x509self.h>

#include "agent/pinned_ca.h"
#include "client/cli.h"
#include "common/clock.h"
#include "hostca/v1/host.grpc.pb.h"
#include "pki/keys.h"

namespace hostca::agent {

namespace {
std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

Botan::X509_Certificate parse_certificate(const std::string& der, const std::string& what) {
  try {
    return Botan::X509_Certificate(std::vector<std::uint8_t>(der.begin(), der.end()));
  } catch (const std::exception&) {
    throw CertificateFailure("the server sent something that is not a certificate as " + what);
  }
}
}  // namespace

KeyAndRequest make_key_and_request(const std::string& key_type, const std::string& common_name,
                                   const std::vector<std::string>& dns_names) {
  Botan::System_RNG rng;
  auto key = generate_key(parse_ca_key_algorithm(key_type), rng);
  Botan::X509_Cert_Options opts;
  opts.common_name = common_name;
  if (!dns_names.empty()) {
    opts.dns = dns_names.front();
    opts.more_dns.assign(dns_names.begin() + 1, dns_names.end());
  }
  const Botan::PKCS10_Request csr =
      Botan::X509::create_cert_req(opts, *key, signature_hash_for(*key), rng);
  return {std::move(key), csr.BER_encode()};
}

Botan::X509_Certificate check_issued(const hostca::v1::CertificateResponse& response,
                                     const PinSet& pins, const Botan::Private_Key& key,
                                     const std::string& expected_host_id) {
  const std::string ca_spki =
      spki_fingerprint(parse_certificate(response.ca_certificate_der(), "the CA certificate"));
  const PinnedCa* ca = pins.find(ca_spki);
  if (ca == nullptr) {
    std::string pinned;
    for (const auto& spki : pins.spki_fingerprints()) pinned += (pinned.empty() ? "" : ", ") + spki;
    throw CertificateFailure(
        "certificate failure: the server answered for CA public key " + ca_spki + " but " + pinned +
        (pins.keys().size() == 1 ? " is" : " are") + " pinned; check with your security team");
  }
  const Botan::X509_Certificate cert =
      parse_certificate(response.certificate_der(), "this host's certificate");
  // The pinned certificate's key, not the one the server sent along.
  const std::unique_ptr<Botan::Public_Key> ca_key(ca->certificate.subject_public_key());
  if (!cert.check_signature(*ca_key) ||
      cert.subject_public_key_info() != key.subject_public_key()) {
    throw CertificateFailure(
        "the certificate received is not signed by the pinned CA for this host's key");
  }
  if (!expected_host_id.empty()) {
    const std::string want = lower(expected_host_id);
    const std::string cn = lower(cert.subject_dn().get_first_attribute("CN"));
    if (lower(response.host_id()) != want || cn != want) {
      throw CertificateFailure("the certificate received is for host ID " + cn +
                               ", not for the host ID " + want + " asked for; nothing was kept");
    }
  }
  return cert;
}

Identity keep_identity(const AgentDir& dir, const Botan::Private_Key& key,
                       const Botan::X509_Certificate& cert, const std::string& host_id,
                       const std::string& hostname) {
  const auto not_after =
      std::chrono::time_point_cast<std::chrono::microseconds>(cert.not_after().to_std_timepoint());
  Identity id{host_id, hostname, Botan::hex_encode(cert.serial_number(), false),
              format_rfc3339(TimePoint(not_after.time_since_epoch()))};
  dir.save_identity(Botan::PKCS8::PEM_encode(key), cert.PEM_encode(), id);
  return id;
}

std::string host_name_in(const Botan::X509_Certificate& cert,
                         const std::vector<std::string>& aliases) {
  std::vector<std::string> candidates;
  for (const auto& n : cert.subject_alt_name().get_attribute("DNS")) {
    const bool alias = std::any_of(aliases.begin(), aliases.end(),
                                   [&](const std::string& a) { return lower(a) == lower(n); });
    if (!alias) candidates.push_back(lower(n));
  }
  return candidates.size() == 1 ? candidates.front() : std::string();
}

std::vector<std::string> names_missing(const Botan::X509_Certificate& cert,
                                       const std::vector<std::string>& wanted) {
  std::vector<std::string> names;
  for (const auto& n : cert.subject_alt_name().get_attribute("DNS")) names.push_back(lower(n));
  std::vector<std::string> missing;
  for (const auto& w : wanted) {
    if (std::find(names.begin(), names.end(), lower(w)) == names.end()) missing.push_back(w);
  }
  return missing;
}

namespace {
std::unique_ptr<hostca::v1::HostService::Stub> host_stub(const AgentDir& dir, const PinSet& pins) {
  return hostca::v1::HostService::NewStub(client::open_channel(pinned_endpoint(dir, pins)));
}

constexpr std::chrono::seconds kIssueDeadline{30};
}  // namespace

Identity enrol(const AgentDir& dir, const PinSet& pins, const EnrolOptions& request) {
  std::vector<std::string> names{request.hostname};
  names.insert(names.end(), request.aliases.begin(), request.aliases.end());
  const auto made = make_key_and_request(request.key_type, request.hostname, names);

  hostca::v1::RequestCertificateRequest req;
  req.set_csr(made.csr_der.data(), made.csr_der.size());
  req.set_hostname(request.hostname);
  for (const auto& a : request.aliases) req.add_aliases(a);
  req.set_authorization_token(request.token);
  hostca::v1::CertificateResponse res;
  auto ctx = client::call_context(kIssueDeadline);
  const grpc::Status s = host_stub(dir, pins)->RequestCertificate(ctx.get(), req, &res);
  if (!s.ok()) throw client::CliFailure("enrolment refused: " + client::describe(s));

  const auto cert = check_issued(res, pins, *made.key, "");
  return keep_identity(dir, *made.key, cert, res.host_id(), request.hostname);
}

Reissued reissue(const AgentDir& dir, const PinSet& pins, const ReissueOptions& request,
                 const std::string& known_hostname) {
  // Without --hostname the CA keeps the name it has; host.json or, on a
  // reinstalled host, the new certificate says what that name is.
  std::string hostname = request.hostname.empty() ? known_hostname : request.hostname;
  std::vector<std::string> names = request.aliases;
  if (!hostname.empty()) names.insert(names.begin(), hostname);
  const auto made =
      make_key_and_request(request.key_type, hostname.empty() ? request.host_id : hostname, names);

  hostca::v1::ReissueCertificateRequest req;
  req.set_host_id(request.host_id);
  req.set_csr(made.csr_der.data(), made.csr_der.size());
  req.set_reissue_token(request.token);
  // Only a name given on the command line is a rename; the one on record is
  // not sent, so a plain reissue keeps the name and aliases the CA has.
  req.set_hostname(request.hostname);
  for (const auto& a : request.aliases) req.add_aliases(a);
  hostca::v1::CertificateResponse res;
  auto ctx = client::call_context(kIssueDeadline);
  const grpc::Status s = host_stub(dir, pins)->ReissueCertificate(ctx.get(), req, &res);
  // Without a token the CA says itself whether this host has an auto-reissue window.
  if (!s.ok()) throw client::CliFailure("reissue refused: " + client::describe(s));

  const auto cert = check_issued(res, pins, *made.key, request.host_id);
  if (hostname.empty()) hostname = host_name_in(cert, request.aliases);
  Reissued out;
  out.identity = keep_identity(dir, *made.key, cert, request.host_id, hostname);
  out.revoked_serials.assign(res.revoked_serials_hex().begin(), res.revoked_serials_hex().end());
  out.names_missing = names_missing(cert, names);
  out.dns_names = cert.subject_alt_name().get_attribute("DNS");
  return out;
}

}  // namespace hostca::agent
