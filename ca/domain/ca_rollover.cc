#include "domain/ca_rollover.h"

#include <algorithm>

#include "common/error.h"
#include "domain/authority.h"
#include "domain/ca_key.h"
#include "domain/ca_keys.h"
#include "domain/ca_link.h"
#include "domain/records.h"

namespace hostca {

namespace {

// Who runs the rollover commands, as the audit log names it.
const char* const kActor = "cli";

const store::CaKeyRow* in_state(const std::vector<store::CaKeyRow>& rows,
                                const std::string& state) {
  for (const auto& r : rows) {
    if (r.state == state) return &r;
  }
  return nullptr;
}

RolloverStep step_of(const store::CaKeyRow& row, bool changed) {
  RolloverStep s;
  s.generation = row.generation;
  s.sha256_fingerprint = row.sha256_fingerprint;
  s.spki_sha256 = row.spki_sha256;
  s.changed = changed;
  return s;
}

Bytes der_bytes(const Botan::X509_Certificate& cert) {
  const auto der = cert.BER_encode();
  return Bytes(der.begin(), der.end());
}

std::string key_name(int generation) { return "CA key " + std::to_string(generation); }

// The refusals start_rollover makes before and inside its unit of work;
// returns the next key when a planned start finds it made already.
const store::CaKeyRow* check_start(const std::vector<store::CaKeyRow>& rows,
                                   const RolloverStart& request) {
  if (const auto* retiring = in_state(rows, "retiring")) {
    throw failed_precondition(key_name(retiring->generation) +
                              " is still retiring from the last rollover: run 'hostca-server ca "
                              "rollover finish' first");
  }
  const auto* next = in_state(rows, "next");
  if (next && request.emergency) {
    throw failed_precondition(key_name(next->generation) +
                              " is announced already: run 'hostca-server ca rollover activate' "
                              "and 'finish' (its agents follow it), or remove it from the "
                              "rollover before an emergency start");
  }
  return next;
}

}  // namespace

RolloverStep start_rollover(store::Store& store, const CaKeyRing& ring,
                            const RolloverStart& request, const Clock& clock,
                            Botan::RandomNumberGenerator& rng) {
  if (request.validity <= Duration::zero()) {
    throw invalid_argument("the CA validity must be positive");
  }
  const CaKey& active = ring.active();

  // Refuse early, before the (slow) key generation.
  const auto before = store.transact([](store::Tx& tx) { return tx.list_ca_keys(); });
  if (const auto* next = check_start(before, request)) return step_of(*next, false);

  const TimePoint now = clock.now();
  std::shared_ptr<const Signer> next_signer;
  std::string algorithm_name, encrypted;
  if (request.pkcs11) {
    for (const auto& r : before) {
      if (r.pkcs11_module == request.pkcs11->module_path &&
          r.pkcs11_token_label == request.pkcs11->token_label &&
          r.pkcs11_key_label == request.pkcs11->key_label) {
        throw failed_precondition("\"" + r.pkcs11_key_label + "\" on the PKCS#11 token \"" +
                                  r.pkcs11_token_label + "\" is " + key_name(r.generation) +
                                  " already: give the next key a label of its own");
      }
    }
    // Unset: the token key's own algorithm, or ECDSA P-256 for a new one.
    bool made = false;
    const auto token_key = open_or_make_token_key(*request.pkcs11, request.algorithm, made);
    auto cert = make_next_ca_certificate(active.certificate(), uncertified(token_key),
                                         request.validity, now, rng);
    next_signer = std::make_shared<Pkcs11Signer>(token_key, std::move(cert));
    algorithm_name = token_key->algorithm_name();
  } else {
    // Unset: the active key's (a token key's algorithm has the same name).
    const CaKeyAlgorithm algorithm =
        request.algorithm ? *request.algorithm : parse_ca_key_algorithm(active.key_algorithm);
    // The next key is encrypted with the passphrase every server opens the
    // keys with: one that does not open the keys kept in the database
    // would lock the servers out.
    for (const auto& r : before) {
      if (!r.encrypted_private_key_pem.empty()) {
        decrypt_private_key(r.encrypted_private_key_pem, request.passphrase);
      }
    }
    std::shared_ptr<const Botan::Private_Key> key = generate_key(algorithm, rng);
    auto cert = make_next_ca_certificate(active.certificate(), *key, request.validity, now, rng);
    encrypted = encrypt_private_key(*key, request.passphrase, rng);
    next_signer = std::make_shared<SoftwareSigner>(key, std::move(cert), rng);
    algorithm_name = to_string(algorithm);
  }
  const Botan::X509_Certificate& cert = next_signer->ca_certificate();

  store::CaKeyRow row;
  row.key_algorithm = algorithm_name;
  row.certificate_der = der_bytes(cert);
  row.encrypted_private_key_pem = encrypted;
  if (request.pkcs11) {
    row.pkcs11_module = request.pkcs11->module_path;
    row.pkcs11_token_label = request.pkcs11->token_label;
    row.pkcs11_key_label = request.pkcs11->key_label;
  }
  row.sha256_fingerprint = certificate_fingerprint(cert);
  row.spki_sha256 = spki_fingerprint(cert);
  row.state = request.emergency ? "active" : "next";
  row.emergency = request.emergency;
  row.created_at = now;
  if (!request.emergency) {
    const LinkCertificates links = make_link_certificates(*active.signer, *next_signer, now, rng);
    row.new_with_old_der = der_bytes(links.new_with_old);
    row.old_with_new_der = der_bytes(links.old_with_new);
  }

  return store.transact([&](store::Tx& tx) {
    tx.lock_ca();
    const auto ca = tx.find_ca();
    if (!ca) throw failed_precondition("the database holds no CA yet: run 'hostca-server init'");
    const auto rows = tx.list_ca_keys();
    // Another start ran meanwhile: its key stands.
    if (const auto* next = check_start(rows, request)) return step_of(*next, false);
    const auto* now_active = in_state(rows, "active");
    if (!now_active || now_active->generation != active.generation) {
      throw failed_precondition("the CA's keys changed while this ran: run the command again");
    }
    store::CaKeyRow inserted = row;
    inserted.generation = 1;
    for (const auto& r : rows)
      inserted.generation = std::max(inserted.generation, r.generation + 1);
    if (request.emergency && !tx.set_ca_key_state(active.generation, "active", "retiring")) {
      throw failed_precondition("the CA's keys changed while this ran: run the command again");
    }
    tx.insert_ca_key(inserted);
    tx.create_crl_shards(inserted.generation, ca->crl_shards);
    tx.append_audit(audit_record(now, kActor, "ca.rollover.start", key_name(inserted.generation),
                                 "ok",
                                 {{"algorithm", inserted.key_algorithm},
                                  {"key_held_in", request.pkcs11 ? "pkcs11" : "database"},
                                  {"sha256_fingerprint", inserted.sha256_fingerprint},
                                  {"spki_sha256", inserted.spki_sha256},
                                  {"emergency", inserted.emergency},
                                  {"previous_generation", active.generation}}));
    return step_of(inserted, true);
  });
}

RolloverStep activate_rollover(store::Store& store, const Clock& clock) {
  return store.transact([&](store::Tx& tx) {
    tx.lock_ca();
    const auto rows = tx.list_ca_keys();
    const auto* next = in_state(rows, "next");
    const auto* active = in_state(rows, "active");
    if (!active) throw failed_precondition("the database holds no active CA key");
    if (!next) {
      // Done already: the active key came from a planned rollover whose old
      // key is still retiring.
      if (!active->emergency && in_state(rows, "retiring")) return step_of(*active, false);
      throw failed_precondition(
          "no rollover is started: run 'hostca-server ca rollover start' first");
    }
    if (!tx.set_ca_key_state(active->generation, "active", "retiring") ||
        !tx.set_ca_key_state(next->generation, "next", "active")) {
      throw failed_precondition("the CA's keys changed while this ran: run the command again");
    }
    const TimePoint now = clock.now();
    tx.append_audit(audit_record(now, kActor, "ca.rollover.activate", key_name(next->generation),
                                 "ok",
                                 {{"sha256_fingerprint", next->sha256_fingerprint},
                                  {"retiring_generation", active->generation}}));
    return step_of(*next, true);
  });
}

RolloverStep finish_rollover(store::Store& store, const RolloverFinish& request, const Clock& clock,
                             const RevokeRemaining& revoke) {
  if (request.revoke_remaining && !revoke) {
    throw internal_error("revoking a retiring key's certificates needs its key");
  }
  return store.transact([&](store::Tx& tx) {
    tx.lock_ca();
    const auto rows = tx.list_ca_keys();
    if (const auto* next = in_state(rows, "next")) {
      throw failed_precondition(key_name(next->generation) +
                                " is announced but does not issue yet: run 'hostca-server ca "
                                "rollover activate' first");
    }
    const auto* retiring = in_state(rows, "retiring");
    if (!retiring) {
      const store::CaKeyRow* last = nullptr;
      for (const auto& r : rows) {
        if (r.state == "retired") last = &r;
      }
      if (last) return step_of(*last, false);
      throw failed_precondition("no rollover to finish: no CA key is retiring");
    }
    const TimePoint now = clock.now();
    RolloverStep step = step_of(*retiring, true);
    // A host that renewed onto a newer key keeps its earlier certificate
    // until it expires (renewal never revokes): what holds finish back is
    // a host with no valid certificate of another key.
    const std::int64_t unmoved = tx.count_hosts_only_on_key(retiring->generation, now);
    if (unmoved > 0 && !request.revoke_remaining) {
      throw failed_precondition(
          std::to_string(unmoved) + " host(s) still hold only certificates of " +
          key_name(retiring->generation) +
          ": wait until they renew (their next 'renew --if-due'; 'hostca-admin ca status' shows "
          "the certificates left), or run 'finish --revoke-remaining'");
    }
    if (request.revoke_remaining &&
        tx.count_valid_certificates_of_key(retiring->generation, now) > 0) {
      const auto revoked =
          tx.revoke_certificates_of_key(retiring->generation, now, request.reason_code);
      revoke(tx, revoked, now);
      step.revoked = revoked.size();
    }
    if (!tx.set_ca_key_state(retiring->generation, "retiring", "retired")) {
      throw failed_precondition("the CA's keys changed while this ran: run the command again");
    }
    tx.append_audit(audit_record(
        now, kActor, "ca.rollover.finish", key_name(retiring->generation), "ok",
        {{"revoked", step.revoked}, {"sha256_fingerprint", retiring->sha256_fingerprint}}));
    return step;
  });
}

RolloverStep Authority::finish_rollover(const RolloverFinish& request) {
  const auto keys = this->keys();
  std::vector<PublishedCrl> published;
  const RolloverStep step = hostca::finish_rollover(
      store_, request, clock_,
      [&](store::Tx& tx, const std::vector<store::CertificateRow>& revoked, TimePoint now) {
        published = publish_revocations(tx, *keys, revoked, kActor, now);
      });
  notify_published(published);
  return step;
}

}  // namespace hostca
