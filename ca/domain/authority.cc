#include "domain/authority.h"

#include <limits>

#include <botan/system_rng.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "common/error.h"
#include "common/uuid.h"
#include "domain/ca_key.h"
#include "domain/host_name.h"
#include "domain/records.h"

namespace hostca {

using store::AuditRow;
using store::TokenRow;

// Throws the error that tells the holder of `token` why it cannot be used.
void require_usable(const std::optional<TokenRow>& token, TimePoint now, SecretKind kind) {
  const std::string what = describe(kind);
  if (!token)
    throw unauthenticated("unknown " + what + ": check it, or ask an admin for a new one");
  switch (token_state(*token, now)) {
    case TokenState::kUsable:
      return;
    case TokenState::kDeleted:
      throw permission_denied("the " + what + " was deleted by an admin; ask for a new one");
    case TokenState::kExpired:
      throw permission_denied("the " + what + " expired at " + format_rfc3339(token->expires_at) +
                              "; ask an admin for a new one");
    case TokenState::kUsedUp:
      throw resource_exhausted("the " + what + " is used up (" + std::to_string(token->uses) +
                               " of " + std::to_string(token->max_uses) +
                               " uses); ask an admin for a new one");
  }
}

void AuthorityConfig::validate() const {
  if (max_valid_certificates_per_host < 1 || max_valid_certificates_per_host > 1000) {
    throw invalid_argument("limits.max_valid_certificates_per_host must be between 1 and 1000");
  }
  key_policy.validate();
  names.validate();
  tokens.validate();
  if (crl_shards < 1) throw invalid_argument("crl shards must be at least 1");
  if (reissue_batch < 1 || reissue_batch > 1000) {
    throw invalid_argument("reissue.batch must be between 1 and 1000");
  }
  if (reissue_batches_at_once < 1 || reissue_batches_at_once > 64) {
    throw invalid_argument("reissue.batches_at_once must be between 1 and 64");
  }
  if (max_auto_reissue_window <= Duration::zero() ||
      max_auto_reissue_window > std::chrono::hours(48)) {
    throw invalid_argument("reissue.max_auto_window must be between 1 second and 48 hours");
  }
  console_sessions.validate();
}

void ConsoleSessionPolicy::validate() const {
  if (idle < std::chrono::minutes(1) || idle > std::chrono::hours(24)) {
    throw invalid_argument("console.session_idle must be between 1 minute and 24 hours");
  }
  if (absolute < idle || absolute > std::chrono::hours(24 * 7)) {
    throw invalid_argument(
        "console.session_max must be at least console.session_idle and at most 7 days");
  }
}

void TokenDefaults::validate() const {
  if (default_valid_for <= Duration::zero()) {
    throw invalid_argument("token.default_validity must be positive");
  }
  if (max_valid_for < default_valid_for) {
    throw invalid_argument("token.max_validity must not be below token.default_validity");
  }
  if (max_uses_limit < 1) throw invalid_argument("token.max_uses_limit must be at least 1");
}

Duration TokenDefaults::checked_validity(const std::optional<Duration>& requested) const {
  const Duration valid_for = requested.value_or(default_valid_for);
  if (valid_for <= Duration::zero()) throw invalid_argument("token validity must be positive");
  if (valid_for > max_valid_for) {
    throw invalid_argument(
        "token validity is above the limit of " +
        std::to_string(std::chrono::duration_cast<std::chrono::hours>(max_valid_for).count()) +
        "h");
  }
  return valid_for;
}

void refuse_key_holder(const std::optional<std::string>& holder, const std::string& host_id,
                       const std::string& operation) {
  if (!holder) return;
  if (*holder == host_id) {
    throw invalid_argument("the CSR's key is the key of an earlier certificate of this host; " +
                           operation + " needs a new key pair");
  }
  throw invalid_argument("the CSR's key is already certified for host " + *holder +
                         "; every host needs its own key pair: make a new one");
}

void require_new_key(store::CertificateTx& tx, const Bytes& key_hash, const std::string& host_id,
                     const std::string& operation) {
  refuse_key_holder(tx.find_host_with_key(key_hash, ""), host_id, operation);
}

void check_names(const NamePolicy& policy, const HostName& hostname,
                 const std::vector<HostName>& aliases,
                 const std::vector<NamePattern>& token_patterns) {
  policy.check(hostname, "host name", token_patterns);
  for (const auto& a : aliases) policy.check(a, "alias", token_patterns);
}

void refuse_held_names(const std::vector<store::NameHolder>& held, const HostName& hostname) {
  if (held.empty()) return;
  std::string servers, hosts;
  for (const auto& h : held) {
    std::string& list = h.host_id ? hosts : servers;
    list += (list.empty() ? "" : ", ") + h.name;
  }
  if (!servers.empty()) {
    throw invalid_argument(servers + (servers.find(',') == std::string::npos ? " is" : " are") +
                           " the CA server's own name" +
                           (servers.find(',') == std::string::npos ? "" : "s") +
                           ", never given to a host");
  }
  const bool one = hosts.find(',') == std::string::npos;
  const std::string what = one && hosts == hostname.str() ? "host name " : one ? "the name " : "";
  throw already_exists(
      what + hosts + (one ? " belongs" : " belong") +
      " to another host: reissue that host under another name (hostca-admin reissue-token "
      "create, then 'hostca-agent reissue --hostname'), or ask an admin to release the name "
      "(hostca-admin host release-name)");
}

std::vector<std::string> name_texts(const std::vector<HostName>& names) {
  std::vector<std::string> out;
  out.reserve(names.size());
  for (const auto& n : names) out.push_back(n.str());
  return out;
}

std::string checked_label(const std::string& text, const std::string& what, std::size_t max) {
  if (text.size() > max) {
    throw invalid_argument(what + " is " + std::to_string(text.size()) + " characters; at most " +
                           std::to_string(max));
  }
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) throw invalid_argument(what + " must not hold control characters");
  }
  return text;
}

namespace {
CaCertificateView view_of_key(const CaKey& key) {
  const auto der = key.certificate().BER_encode();
  return CaCertificateView{key.generation, Bytes(der.begin(), der.end()),
                           key.certificate().PEM_encode(), key.sha256_fingerprint, key.spki_sha256};
}

Bytes der_of(const std::optional<Botan::X509_Certificate>& cert) {
  if (!cert) return {};
  const auto der = cert->BER_encode();
  return Bytes(der.begin(), der.end());
}
}  // namespace

Authority::Authority(store::Store& store, std::shared_ptr<const CaKeyRing> ring,
                     CertificateProfile profile, const Clock& clock,
                     Botan::RandomNumberGenerator& rng, AuthorityConfig config)
    : store_(store),
      profile_(std::move(profile)),
      clock_(clock),
      rng_(rng),
      config_(std::move(config)),
      clock_check_(config_.clock) {
  if (!ring) throw internal_error("the authority needs the CA's keys");
  attempts_ = std::make_unique<AttemptLimiter>(config_.token_attempts, clock_);
  reports_ = std::make_unique<AttemptLimiter>(config_.failure_reports, clock_);
  refusals_ = std::make_unique<RefusalTally>(config_.refusal_audit, clock_);
  config_.validate();
  profile_.validate();
  keys_ = make_keys(std::move(ring));
  if (config_.reissue_batch > 1) {
    reissue_batcher_ = std::make_unique<Batcher<ReissueJob, ReissueOutcome>>(
        [this](const std::vector<const ReissueJob*>& jobs) { return run_reissue_batch(jobs); },
        static_cast<std::size_t>(config_.reissue_batch), config_.reissue_batches_at_once);
  }
}

Authority::Authority(store::Store& store, std::shared_ptr<const CertificateIssuer> issuer,
                     const Clock& clock, Botan::RandomNumberGenerator& rng, AuthorityConfig config)
    : Authority(store,
                issuer ? std::make_shared<const CaKeyRing>(CaKeyRing::single(issuer->signer_ptr()))
                       : nullptr,
                issuer ? issuer->profile() : CertificateProfile{}, clock, rng, std::move(config)) {}

std::shared_ptr<const Authority::Keys> Authority::make_keys(
    std::shared_ptr<const CaKeyRing> ring) const {
  auto keys = std::make_shared<Keys>();
  for (const auto& key : ring->keys()) {
    keys->issuers[key.generation] =
        std::make_shared<const CertificateIssuer>(profile_, key.signer, rng_, key.generation);
    keys->publishers[key.generation] = std::make_shared<const CrlPublisher>(
        key.signer, profile_, config_.crl_shards, config_.crl, key.generation);
  }
  for (const auto& key : ring->keys()) keys->views[key.generation] = view_of_key(key);
  keys->active_view = keys->views.at(ring->active().generation);
  keys->ring = std::move(ring);
  return keys;
}

const CrlPublisher& Authority::Keys::publisher(int generation) const {
  const auto it = publishers.find(generation);
  if (it == publishers.end()) {
    throw internal_error("this server holds no key of CA generation " + std::to_string(generation));
  }
  return *it->second;
}

void Authority::reload(std::shared_ptr<const CaKeyRing> ring) {
  if (!ring) throw internal_error("reload needs the CA's keys");
  std::atomic_store(&keys_, make_keys(std::move(ring)));
}

std::optional<CaCertificateView> Authority::ca_certificate(int generation) const {
  const auto k = keys();
  const auto it = k->views.find(generation);
  if (it == k->views.end()) return std::nullopt;
  return it->second;
}

std::vector<AnnouncedCaKey> Authority::announced_keys() const {
  const auto k = keys();
  std::vector<AnnouncedCaKey> out;
  for (const CaKey* key : k->ring->announced()) {
    AnnouncedCaKey a;
    a.certificate = k->views.at(key->generation);
    a.state = key->state;
    a.new_with_old_der = der_of(key->new_with_old);
    a.old_with_new_der = der_of(key->old_with_new);
    if (key->new_with_old) {
      if (const CaKey* previous = k->ring->find(key->generation - 1)) {
        a.previous_spki_sha256 = previous->spki_sha256;
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

void Authority::refuse_unknown_token(const std::string& address, SecretKind kind,
                                     const Error& refusal) {
  const std::string actor = "peer:" + address;
  if (attempts_->over_budget(address)) {
    const auto wait =
        std::chrono::duration_cast<std::chrono::seconds>(attempts_->retry_after(address)).count();
    // One audit row per address per window, with the count.
    if (refusals_->record("token.rate_limited", actor, describe(kind), "refused",
                          "too many unknown tokens")) {
      spdlog::warn(
          "{} unknown tokens within {} s from {}: refusing its unknown tokens",
          attempts_->policy().budget,
          std::chrono::duration_cast<std::chrono::seconds>(attempts_->policy().window).count(),
          address);
    }
    throw resource_exhausted(std::string("too many unknown ") + describe(kind) +
                             "s from this address; try again in " +
                             std::to_string(std::max<long long>(1, wait)) +
                             " s (a valid token is accepted at any time)");
  }
  attempts_->failed(address);
  throw refusal;
}

SecretToken Authority::parse_token(const std::string& text, SecretKind kind,
                                   const std::string& address) {
  try {
    return SecretToken::parse(text, kind);
  } catch (const Error& e) {
    refuse_unknown_token(address, kind, e);
  }
}

void Authority::audit_refused_token(const std::string& address, const store::TokenRow& token,
                                    const std::string& why) {
  refusals_->record("token.refused", "peer:" + address, token.token_id, "refused", why);
}

std::size_t Authority::flush_refusals(bool everything) {
  std::vector<store::AuditRow> rows = refusals_->take_closed(everything);
  if (rows.empty()) return 0;
  try {
    store_.transact([&](store::Tx& tx) {
      for (const auto& row : rows) tx.append_audit(row);
    });
  } catch (const std::exception& e) {
    spdlog::error("cannot write {} aggregated refusal audit row(s), will retry: {}", rows.size(),
                  e.what());
    refusals_->put_back(std::move(rows));
    return 0;
  }
  return rows.size();
}

Duration Authority::check_clock() {
  TimePoint before, database, after;
  store_.transact([&](store::Tx& tx) {
    before = clock_.now();
    database = tx.database_time();
    after = clock_.now();
  });
  const Duration skew = clock_skew(before, database, after);
  const bool was_in_step = !clock_check_.problem();
  clock_check_.record(skew);
  if (const auto problem = clock_check_.problem()) {
    spdlog::error("{}: issuing and publishing are refused until it is fixed", *problem);
  } else if (!was_in_step) {
    spdlog::info("this server's clock is back in step with the database's ({})",
                 describe_skew(skew));
  }
  return skew;
}

Enrollment Authority::enroll(const EnrollmentRequest& request) {
  const std::string address = peer_address(request.peer);
  clock_check_.require_in_step("issue certificates");
  const auto keys = this->keys();
  // Everything that needs no database is checked first.
  const HostName hostname = HostName::parse(request.hostname);
  const std::vector<HostName> aliases = parse_aliases(request.aliases, hostname);
  check_names(config_.names, hostname, aliases);
  const CertificateRequest csr = CertificateRequest::parse(request.csr, config_.key_policy);
  const SecretToken token =
      parse_token(request.authorization_token, SecretKind::kAuthorizationToken, address);
  const std::string host_id = new_uuid(rng_);
  const int shard = crl_shard_of(host_id, config_.crl_shards);

  const Bytes key_hash = sha256(csr.spki());

  // One statement, and no transaction open while the server signs
  // (migrations 0008, 0009): the certificate is signed first, then one call
  // finds the token, checks it, the key and the names, and writes
  // everything, or nothing and says why; enrolments ready at the same
  // moment share that call (Store::enrol). A refused caller costs one
  // signature more than before it (0.03 ms; the CSR check it has already
  // cost is 0.1 ms): never a database write.
  const TimePoint now = clock_.now();
  const IssuedCertificate issued =
      keys->issuer().issue_host_certificate(host_id, hostname, aliases, csr, shard, now);
  store::HostRow host;
  host.host_id = host_id;
  host.hostname = hostname.str();
  host.aliases = name_texts(aliases);
  host.created_at = now;
  host.crl_shard = shard;
  const store::CertificateRow certificate =
      certificate_record(issued, store::CertificateKind::kEnroll, host_id, shard, key_hash, now);
  // The actor ("token:<id>") and the token.use row's subject and counts
  // are filled in by the call, which alone knows the token.
  const std::vector<store::AuditRow> audit = {
      audit_record(now, "", "token.use", "", "ok", nlohmann::json::object()),
      audit_record(now, "", "certificate.issue", host_id, "ok",
                   {{"serial", issued.serial_hex},
                    {"hostname", hostname.str()},
                    {"kind", "enroll"},
                    {"not_after", format_rfc3339(issued.not_after)}})};

  bool unknown = false;
  std::optional<std::pair<store::TokenRow, std::string>> refused;
  try {
    store::EnrolmentCall call{token.hash(), false, std::move(host), certificate, audit};
    for (int attempt = 1;; ++attempt) {
      const store::EnrolmentResult written = store_.enrol(call);
      using Outcome = store::EnrolmentResult::Outcome;
      if (written.outcome == Outcome::kEnrolled) break;
      switch (written.outcome) {
        case Outcome::kEnrolled:
          break;
        case Outcome::kUnknownToken:
          unknown = true;
          require_usable(std::nullopt, now, SecretKind::kAuthorizationToken);
          break;
        case Outcome::kTokenUnusable: {
          // Read it to say why (used up, expired or deleted).
          const std::optional<store::TokenRow> row = store_.autocommit(
              [&](store::Tx& tx) { return tx.preview_enrolment(token.hash(), key_hash).token; });
          if (row && token_state(*row, now) != TokenState::kUsable) {
            refused.emplace(*row, to_string(token_state(*row, now)));
          }
          require_usable(row, now, SecretKind::kAuthorizationToken);
          break;
        }
        case Outcome::kNamePatterns:
          check_names(config_.names, hostname, aliases, stored_patterns(written.allowed_names));
          call.name_patterns_checked = true;
          break;
        case Outcome::kKeyHeld:
          refuse_key_holder(written.key_holder, "", "an enrolment");
          break;
        case Outcome::kNamesHeld:
          refuse_held_names(written.names_held, hostname);
          break;
      }
      // Only a token that changed between the call and the read that
      // followed it, or a checked name pattern, comes here.
      if (attempt >= 3) {
        throw unavailable("the authorization token changed during the call; try again");
      }
    }
  } catch (const Error& e) {
    if (unknown) refuse_unknown_token(address, SecretKind::kAuthorizationToken, e);
    if (refused) audit_refused_token(address, refused->first, refused->second);
    throw;
  }
  std::optional<Enrollment> result = Enrollment{host_id, issued};
  notify_committed(OperationOutcome{store::CertificateKind::kEnroll, 0, true});
  spdlog::info("issued certificate {} to new host {} ({})", result->certificate.serial_hex,
               result->host_id, hostname.str());
  return std::move(*result);
}

std::int64_t Authority::certificates_expiring_within(Duration within) {
  return store_.transact([&](store::Tx& tx) {
    const TimePoint now = clock_.now();
    return tx.count_certificates_expiring(now, now + within);
  });
}

Actor Authority::authenticate_admin(const AdminCredential& credential, const std::string& peer,
                                    const std::string& call) {
  std::string refusal = credential.problem;
  std::optional<store::AdminKeyRow> key;
  if (refusal.empty()) {
    try {
      const SecretToken secret = SecretToken::parse(credential.key, SecretKind::kAdminKey);
      key = store_.transact([&](store::Tx& tx) { return tx.find_admin_key(secret.hash()); });
      if (!key) refusal = "unknown admin key";
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kUnauthenticated) throw;
      refusal = e.what();
    }
  }
  if (key) return Actor{"admin:" + key->key_id};
  // Written nowhere yet: one audit row per address per window, with the
  // count, so refused calls cannot make the database grow.
  const std::string address = peer_address(peer);
  if (refusals_->record("admin.refused", "peer:" + address, "", "refused", call + ": " + refusal)) {
    spdlog::warn("refused an admin call ({}) from {}: {}", call, address, refusal);
  }
  throw unauthenticated(refusal);
}

CreatedAdminKey create_admin_key(store::Store& store, const Clock& clock,
                                 Botan::RandomNumberGenerator& rng, const Actor& actor,
                                 const std::string& name) {
  const std::string label = checked_label(name, "admin key name", 200);
  if (label.empty()) throw invalid_argument("give the admin key a name (who or what uses it)");
  SecretToken key = SecretToken::generate(SecretKind::kAdminKey, rng);
  store::AdminKeyRow row;
  row.key_id = new_uuid(rng);
  row.name = label;
  row.key_hash = key.hash();
  row.created_by = actor.id;
  store.transact([&](store::Tx& tx) {
    row.created_at = clock.now();
    tx.insert_admin_key(row);
    tx.append_audit(audit_record(row.created_at, actor.id, "admin_key.create", row.key_id, "ok",
                                 {{"name", label}}));
  });
  return CreatedAdminKey{std::move(key), row.key_id};
}

CreatedAdminKey Authority::create_admin_key(const Actor& actor, const std::string& name) {
  return hostca::create_admin_key(store_, clock_, rng_, actor, name);
}

CreatedToken Authority::create_authorization_token(const Actor& actor,
                                                   const NewAuthorizationToken& request) {
  const std::string name = checked_label(request.name, "token name", 200);
  const std::string reason = checked_label(request.reason, "token reason", 1000);
  const std::uint32_t max_uses = request.max_uses == 0 ? 1 : request.max_uses;
  if (max_uses > config_.tokens.max_uses_limit) {
    throw invalid_argument("max uses " + std::to_string(max_uses) + " is above the limit of " +
                           std::to_string(config_.tokens.max_uses_limit));
  }
  const Duration valid_for = config_.tokens.checked_validity(request.valid_for);
  std::vector<std::string> patterns;
  for (const auto& p : config_.names.parse_patterns(request.allowed_names)) {
    patterns.push_back(p.str());
  }
  SecretToken token = SecretToken::generate(SecretKind::kAuthorizationToken, rng_);
  TokenRow row;
  row.token_id = new_uuid(rng_);
  row.kind = store::TokenKind::kAuthorization;
  row.token_hash = token.hash();
  row.name = name;
  row.reason = reason;
  row.max_uses = static_cast<int>(max_uses);
  row.created_by = actor.id;
  row.allowed_names = patterns;
  store_.transact([&](store::Tx& tx) {
    row.created_at = clock_.now();
    row.expires_at = row.created_at + valid_for;
    tx.insert_token(row);
    tx.append_audit(audit_record(row.created_at, actor.id, "token.create", row.token_id, "ok",
                                 {{"kind", "authorization"},
                                  {"name", name},
                                  {"max_uses", max_uses},
                                  {"allowed_names", patterns},
                                  {"expires_at", format_rfc3339(row.expires_at)}}));
  });
  return CreatedToken{std::move(token), row.token_id, row.expires_at};
}

std::vector<TokenView> Authority::list_tokens(bool include_deleted) {
  const TimePoint now = clock_.now();
  std::vector<TokenView> out;
  for (const auto& t :
       store_.transact([&](store::Tx& tx) { return tx.list_tokens(include_deleted); })) {
    out.push_back(view_of(t, now));
  }
  return out;
}

void Authority::delete_token(const Actor& actor, const std::string& token_id) {
  const std::string id = parse_uuid(token_id, "token ID");
  store_.transact([&](store::Tx& tx) {
    const auto row = tx.find_token_by_id(id);
    if (!row)
      throw not_found("no token has the ID " + id + " (hostca-admin token list shows them)");
    if (row->deleted_at) throw failed_precondition("token " + id + " is already deleted");
    const TimePoint now = clock_.now();
    tx.mark_token_deleted(id, now);
    tx.append_audit(audit_record(now, actor.id, "token.delete", id, "ok",
                                 {{"kind", store::to_string(row->kind)}, {"name", row->name}}));
  });
}

std::vector<HostView> Authority::list_hosts(const std::string& hostname_contains,
                                            std::uint32_t limit) {
  HostListRequest request;
  request.hostname_contains = hostname_contains;
  request.limit = limit;
  return list_hosts(request).hosts;
}

namespace {
// "<hex of hostname>.<host ID>" in name order, "x<microseconds>.<host ID>"
// in expiry order: opaque to callers, checked when it returns.
std::string page_token_of(const store::HostRow& last, store::HostSort sort) {
  if (sort == store::HostSort::kExpiry) {
    const long long key = last.newest_not_after ? to_unix_micros(*last.newest_not_after)
                                                : std::numeric_limits<long long>::max();
    return "x" + std::to_string(key) + "." + last.host_id;
  }
  return to_hex(Bytes(last.hostname.begin(), last.hostname.end())) + "." + last.host_id;
}

std::pair<std::string, std::string> parse_page_token(const std::string& token,
                                                     store::HostSort sort) {
  const auto dot = token.rfind('.');
  const std::string why =
      "page_token is not one this server gave for this sort: start again without it";
  if (dot == std::string::npos || token.size() > 1100) throw invalid_argument(why);
  try {
    const std::string id = parse_uuid(token.substr(dot + 1), "page_token");
    if (sort == store::HostSort::kExpiry) {
      const std::string key = token.substr(0, dot);
      if (key.size() < 2 || key.size() > 21 || key[0] != 'x' ||
          key.find_first_not_of("-0123456789", 1) != std::string::npos) {
        throw invalid_argument(why);
      }
      return {std::to_string(std::stoll(key.substr(1))), id};
    }
    const Bytes name = from_hex(token.substr(0, dot), "page_token");
    return {std::string(name.begin(), name.end()), id};
  } catch (const Error&) {
    throw invalid_argument(why);
  } catch (const std::exception&) {  // stoll: out of range
    throw invalid_argument(why);
  }
}
}  // namespace

HostPage Authority::list_hosts(const HostListRequest& request) {
  store::HostQuery q;
  q.hostname_contains = checked_label(request.hostname_contains, "host name filter", 253);
  q.limit = request.limit == 0 ? 1000 : request.limit;
  if (q.limit > 10000) throw invalid_argument("limit must be at most 10000");
  std::string search = checked_label(request.search, "search", 253);
  if (request.sort == "expiry") {
    q.sort = store::HostSort::kExpiry;
  } else if (!request.sort.empty() && request.sort != "name") {
    throw invalid_argument("sort must be \"name\" or \"expiry\"");
  }
  if (request.state == "failure") {
    q.failure_only = true;
  } else if (!request.state.empty()) {
    q.state = store::host_state_named(request.state);
    if (!q.state) {
      throw invalid_argument(
          "state must be one of valid, expiring, expired, revoked, none or failure (or empty: "
          "any)");
    }
  }
  if (!request.page_token.empty()) q.after = parse_page_token(request.page_token, q.sort);
  q.now = clock_.now();
  HostPage page;
  if (is_uuid(search)) {
    // A host ID names one host: that page holds it or nothing.
    if (q.after) return page;
    const std::string id = parse_uuid(search, "search");
    const auto host = store_.transact([&](store::Tx& tx) { return tx.find_host(id); });
    if (host && host->hostname.find(q.hostname_contains) != std::string::npos) {
      HostView view = get_host(id).host;
      const bool kept = q.failure_only ? view.host.certificate_failure_at.has_value()
                                       : (!q.state || *q.state == view.state);
      if (kept) page.hosts.push_back(std::move(view));
    }
    return page;
  }
  for (auto& c : search) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Names hold only letters, digits, '-' and '.' (HostName): a search with
  // anything else matches none.
  if (search.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") != std::string::npos) {
    return page;
  }
  q.name_prefix = search;
  const auto rows = store_.transact([&](store::Tx& tx) { return tx.list_hosts(q); });
  for (const auto& h : rows) page.hosts.push_back(view_of(h, q.now));
  if (rows.size() == q.limit) page.next_page_token = page_token_of(rows.back().host, q.sort);
  return page;
}

HostDetails Authority::get_host(const std::string& host_id) {
  const std::string id = parse_uuid(host_id, "host ID");
  const TimePoint now = clock_.now();
  return store_.transact([&](store::Tx& tx) {
    const auto host = tx.find_host(id);
    if (!host) throw not_found("no host has the ID " + id + " (hostca-admin host list shows them)");
    HostDetails details;
    details.host.host = *host;
    details.host.state = store::host_state(*host, now);
    for (const auto& c : tx.list_host_certificates(id)) {
      details.certificates.push_back(view_of(c, now));
      // The one the host's state is of (migration 0015), as ListHosts shows.
      if (c.serial_hex == host->newest_serial_hex) {
        details.host.newest_certificate = details.certificates.back();
      }
      if (details.certificates.back().state == CertificateState::kValid) {
        details.host.has_valid_certificate = true;
      }
    }
    return details;
  });
}

std::vector<store::AuditRow> Authority::list_audit(std::uint64_t after_sequence,
                                                   std::uint32_t limit) {
  store::AuditFilter filter;
  filter.after_sequence = static_cast<std::int64_t>(after_sequence);
  filter.limit = limit;
  return list_audit(std::move(filter));
}

std::vector<store::AuditRow> Authority::list_audit(store::AuditFilter filter) {
  if (filter.limit == 0) filter.limit = 100;
  if (filter.limit > 1000) throw invalid_argument("limit must be at most 1000");
  if (filter.after_sequence < 0) throw invalid_argument("after_sequence must not be negative");
  filter.action = checked_label(filter.action, "action", 200);
  filter.actor = checked_label(filter.actor, "actor", 200);
  filter.subject = checked_label(filter.subject, "subject", 200);
  if (filter.since && filter.until && *filter.until <= *filter.since) {
    throw invalid_argument("until must be after since");
  }
  return store_.transact([&](store::Tx& tx) { return tx.list_audit(filter); });
}

}  // namespace hostca
