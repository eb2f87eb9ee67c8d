#include "domain/bootstrap.h"

#include <botan/data_src.h>
#include <botan/pkcs8.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>

#include "common/error.h"
#include "common/uuid.h"
#include "domain/certificate_issuer.h"
#include "domain/host_name.h"
#include "domain/name_policy.h"
#include "domain/records.h"

namespace hostca {

namespace {

store::AuditRow audit(TimePoint at, const std::string& action, const std::string& subject,
                      const nlohmann::json& details) {
  return audit_record(at, "init", action, subject, "ok", details);
}

}  // namespace

InitResult initialize_ca(store::Store& store, const InitOptions& options, const Clock& clock,
                         Botan::RandomNumberGenerator& rng) {
  if (options.crl_shards < 1 || options.crl_shards > kMostCrlShards) {
    throw invalid_argument("crl shards must be between 1 and " + std::to_string(kMostCrlShards));
  }
  options.profile.validate();
  const std::string admin_name =
      options.admin_key_name.empty() ? "bootstrap" : options.admin_key_name;
  const TimePoint now = clock.now();

  // Refuse early, before the (slow) key generation, if a CA exists.
  store.transact([&](store::Tx& tx) {
    if (const auto ca = tx.find_ca()) {
      throw already_exists("this database already holds a CA (SHA-256 " + ca->sha256_fingerprint +
                           "); init never overwrites one");
    }
  });

  std::shared_ptr<const Signer> signer;
  std::string encrypted, algorithm_name;
  bool token_key_made = false;
  if (options.pkcs11) {
    const auto token_key =
        open_or_make_token_key(*options.pkcs11, options.algorithm, token_key_made);
    auto cert = make_ca_certificate(uncertified(token_key), options.ca, now, rng);
    signer = std::make_shared<Pkcs11Signer>(token_key, std::move(cert));
    algorithm_name = token_key->algorithm_name();
  } else {
    const CaKeyAlgorithm algorithm = options.algorithm.value_or(CaKeyAlgorithm::kEcdsaP256);
    std::shared_ptr<const Botan::Private_Key> key = generate_key(algorithm, rng);
    auto cert = make_ca_certificate(*key, options.ca, now, rng);
    encrypted = encrypt_private_key(*key, options.passphrase, rng);
    signer = std::make_shared<SoftwareSigner>(key, std::move(cert), rng);
    algorithm_name = to_string(algorithm);
  }
  const Botan::X509_Certificate& ca_cert = signer->ca_certificate();
  const CertificateIssuer issuer(options.profile, signer, rng);

  const auto server_key = generate_key(CaKeyAlgorithm::kEcdsaP256, rng);
  const IssuedCertificate server_cert =
      issuer.issue_server_certificate(options.server_names, *server_key, now);

  InitResult result{ca_cert.PEM_encode(),
                    certificate_fingerprint(ca_cert),
                    spki_fingerprint(ca_cert),
                    algorithm_name,
                    token_key_made,
                    server_cert.pem(),
                    Botan::PKCS8::PEM_encode(*server_key),
                    SecretToken::generate(SecretKind::kAdminKey, rng),
                    new_uuid(rng)};

  store::CaRow ca_row;
  ca_row.ca_id = new_uuid(rng);
  ca_row.key_algorithm = algorithm_name;
  const auto der = ca_cert.BER_encode();
  ca_row.certificate_der = Bytes(der.begin(), der.end());
  ca_row.encrypted_private_key_pem = encrypted;
  ca_row.sha256_fingerprint = result.sha256_fingerprint;
  ca_row.spki_sha256 = result.spki_sha256;
  ca_row.crl_shards = options.crl_shards;
  ca_row.created_at = now;
  ca_row.crl_base_url = options.profile.crl_base_url;

  store::CaKeyRow first_key;
  first_key.generation = 1;
  first_key.key_algorithm = ca_row.key_algorithm;
  first_key.certificate_der = ca_row.certificate_der;
  first_key.encrypted_private_key_pem = encrypted;
  if (options.pkcs11) {
    first_key.pkcs11_module = options.pkcs11->module_path;
    first_key.pkcs11_token_label = options.pkcs11->token_label;
    first_key.pkcs11_key_label = options.pkcs11->key_label;
  }
  first_key.sha256_fingerprint = ca_row.sha256_fingerprint;
  first_key.spki_sha256 = ca_row.spki_sha256;
  first_key.state = "active";
  first_key.created_at = now;

  store::AdminKeyRow admin;
  admin.key_id = result.admin_key_id;
  admin.name = admin_name;
  admin.key_hash = result.admin_key.hash();
  admin.created_at = now;
  admin.created_by = "init";

  const std::vector<std::string> reserved = server_dns_names(options.server_names);
  store.transact([&](store::Tx& tx) {
    tx.insert_ca(ca_row);
    tx.insert_ca_key(first_key);
    tx.create_crl_shards(first_key.generation, ca_row.crl_shards);
    // An empty database: no host can hold one of them yet.
    if (!tx.reserve_server_names(reserved, now).empty()) {
      throw internal_error("a new CA's server names are held by a host");
    }
    tx.insert_certificate(server_certificate_record(server_cert, now));
    tx.insert_admin_key(admin);
    tx.append_audit(audit(now, "ca.init", ca_row.ca_id,
                          {{"algorithm", ca_row.key_algorithm},
                           {"key_held_in", options.pkcs11 ? "pkcs11" : "database"},
                           {"sha256_fingerprint", ca_row.sha256_fingerprint},
                           {"crl_shards", ca_row.crl_shards},
                           {"crl_base_url", ca_row.crl_base_url}}));
    tx.append_audit(audit(now, "certificate.issue", server_cert.serial_hex,
                          {{"kind", "server"}, {"names", options.server_names}}));
    if (!reserved.empty())
      tx.append_audit(audit(now, "name.reserve", "server", {{"names", reserved}}));
    tx.append_audit(audit(now, "admin_key.create", admin.key_id, {{"name", admin.name}}));
  });
  return result;
}

OpenedCa open_ca(store::Store& store, const std::string& passphrase,
                 Botan::RandomNumberGenerator& rng) {
  CaKeySecrets secrets;
  secrets.passphrase = passphrase;
  OpenedCa opened = open_ca(store, secrets, rng);
  secrets.wipe();
  return opened;
}

OpenedCa open_ca(store::Store& store, const CaKeySecrets& secrets,
                 Botan::RandomNumberGenerator& rng) {
  struct Found {
    std::optional<store::CaRow> ca;
    std::vector<store::CaKeyRow> keys;
  };
  const Found found = store.transact([](store::Tx& tx) {
    Found f{tx.find_ca(), {}};
    if (f.ca) f.keys = tx.list_ca_keys();
    return f;
  });
  if (!found.ca) {
    throw failed_precondition("the database holds no CA yet: run 'hostca-server init' first");
  }
  auto ring = std::make_shared<const CaKeyRing>(CaKeyRing::open(found.keys, secrets, rng));
  return OpenedCa{ring, ring->active().signer, found.ca->crl_shards, found.ca->crl_base_url};
}

std::optional<std::string> default_crl_base_url(const std::vector<std::string>& server_names) {
  for (const auto& name : server_names) {
    if (name != "localhost" && name != "127.0.0.1" && name != "::1") return std::nullopt;
  }
  return std::string("http://127.0.0.1:8080/crl");
}

std::string crl_base_url_to_serve(const OpenedCa& ca, const std::string& configured) {
  if (ca.crl_base_url.empty()) {
    throw failed_precondition(
        "the CA has no CRL base URL on record (it was made before this version): run "
        "'hostca-server migrate --crl-base-url URL' once, with the URL its certificates carry");
  }
  if (!configured.empty() && configured != ca.crl_base_url) {
    throw failed_precondition("crl.base_url '" + configured + "' differs from the CA's '" +
                              ca.crl_base_url +
                              "' (recorded at init, the same in every certificate): remove the "
                              "setting or give the CA's");
  }
  return ca.crl_base_url;
}

void record_crl_base_url(store::Store& store, const std::string& url, const Clock& clock) {
  CertificateProfile profile;
  profile.crl_base_url = url;
  profile.validate();
  store.transact([&](store::Tx& tx) {
    const auto ca = tx.find_ca();
    if (!ca) throw failed_precondition("the database holds no CA yet: run 'hostca-server init'");
    if (ca->crl_base_url == url) return;
    if (!ca->crl_base_url.empty() || !tx.record_crl_base_url(url)) {
      throw failed_precondition("the CA's CRL base URL is already " + ca->crl_base_url +
                                "; it is in every certificate and never changes");
    }
    tx.append_audit(audit(clock.now(), "ca.crl_base_url", ca->ca_id, {{"crl_base_url", url}}));
  });
}

ServerCertificate issue_server_certificate(store::Store& store, const OpenedCa& ca,
                                           const std::vector<std::string>& names,
                                           const CertificateProfile& profile, const Clock& clock,
                                           Botan::RandomNumberGenerator& rng) {
  const CertificateIssuer issuer(profile, ca.signer, rng, ca.ring->active().generation);
  const auto key = generate_key(CaKeyAlgorithm::kEcdsaP256, rng);
  const TimePoint now = clock.now();
  const IssuedCertificate issued = issuer.issue_server_certificate(names, *key, now);
  store.transact([&](store::Tx& tx) {
    tx.insert_certificate(server_certificate_record(issued, now));
    tx.append_audit(
        audit(now, "certificate.issue", issued.serial_hex, {{"kind", "server"}, {"names", names}}));
  });
  return ServerCertificate{issued.pem(), Botan::PKCS8::PEM_encode(*key)};
}

std::vector<std::string> server_dns_names(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    try {
      const HostName name = HostName::parse(n, "server name");
      if (is_reserved_name(name)) continue;
      if (std::find(out.begin(), out.end(), name.str()) == out.end()) out.push_back(name.str());
    } catch (const Error&) {
      // An IP address, or not a name a host could ask for in the first place.
    }
  }
  return out;
}

ServerTlsCheck reserve_server_names(store::Store& store, const std::string& certificate_pem,
                                    const Clock& clock) {
  std::optional<Botan::X509_Certificate> cert;
  try {
    Botan::DataSource_Memory source(certificate_pem);
    cert.emplace(source);
  } catch (const std::exception& e) {
    throw invalid_argument(std::string("the TLS certificate cannot be read: ") + e.what());
  }
  ServerTlsCheck check;
  check.has_marker = is_server_certificate(*cert);
  check.reserved = server_dns_names(cert->subject_alt_name().get_attribute("DNS"));
  if (check.reserved.empty()) return check;
  store.transact([&](store::Tx& tx) {
    check.held_by_hosts.clear();
    for (const auto& h : tx.reserve_server_names(check.reserved, clock.now())) {
      check.held_by_hosts.push_back(h.name);
    }
  });
  for (const auto& held : check.held_by_hosts) {
    check.reserved.erase(std::remove(check.reserved.begin(), check.reserved.end(), held),
                         check.reserved.end());
  }
  return check;
}

}  // namespace hostca
