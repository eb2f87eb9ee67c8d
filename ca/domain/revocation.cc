// The Authority's revocation side: reissue, revocation, auto-reissue
// windows, reissue tokens and CRL publication.
#include <botan/system_rng.h>
#include <botan/x509cert.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "common/error.h"
#include "common/uuid.h"
#include "domain/authority.h"
#include "domain/host_name.h"
#include "domain/records.h"

namespace hostca {

namespace {

// Serials as stored: lower-case hex of the magnitude, no leading zero bytes.
std::string canonical_serial(const std::string& text) {
  Bytes bytes = from_hex(text, "serial");
  std::size_t first = 0;
  while (first + 1 < bytes.size() && bytes[first] == 0) ++first;
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(first));
  if (bytes.size() > 20) {
    throw invalid_argument("a certificate serial has at most 20 octets (40 hex digits)");
  }
  return to_hex(bytes);
}

std::string describe_revocation(const store::CertificateRow& c) {
  return "certificate " + c.serial_hex + " was already revoked at " +
         format_rfc3339(*c.revoked_at) + " (" +
         to_string(revocation_reason_from_code(c.revocation_reason.value_or(0))) + ")";
}

}  // namespace

std::string crl_subject(int ca_generation, int shard) {
  // The key made at init keeps the subject it always had: the shard alone.
  return ca_generation <= 1 ? std::to_string(shard)
                            : std::to_string(ca_generation) + ":" + std::to_string(shard);
}

std::vector<PublishedCrl> Authority::publish_revocations(
    store::Tx& tx, const Keys& keys, const std::vector<store::CertificateRow>& revoked,
    const std::string& actor, TimePoint now) {
  return publish_revocations(tx, keys, revoked, std::vector<std::string>(revoked.size(), actor),
                             now);
}

std::vector<PublishedCrl> Authority::publish_revocations(
    store::Tx& tx, const Keys& keys, const std::vector<store::CertificateRow>& revoked,
    const std::vector<std::string>& actors, TimePoint now) {
  // Each key's shard once, in (key, shard) order: a fixed lock order across
  // servers. A certificate is listed on the CRLs of the key that issued it.
  std::map<int, std::map<int, std::vector<std::size_t>>> by_shard;
  for (std::size_t i = 0; i < revoked.size(); ++i) {
    by_shard[revoked[i].ca_generation][revoked[i].crl_shard.value_or(0)].push_back(i);
  }
  std::vector<PublishedCrl> published;
  int position = 0;
  for (const auto& [generation, shards] : by_shard) {
    std::vector<int> numbers;
    for (const auto& entry : shards) numbers.push_back(entry.first);
    std::vector<PublishedCrl> crls = keys.publisher(generation).publish_many(tx, numbers, now);
    std::size_t k = 0;
    for (const auto& [shard, certs] : shards) {
      PublishedCrl& crl = crls.at(k++);
      for (const std::size_t i : certs) {
        const store::CertificateRow& c = revoked[i];
        store::RevocationEventRow e;
        e.serial_hex = c.serial_hex;
        e.host_id = c.host_id.value_or("");
        e.reason = c.revocation_reason.value_or(0);
        e.revoked_at = c.revoked_at.value_or(now);
        e.shard = shard;
        e.crl_number = crl.crl_number;
        e.ca_generation = generation;
        tx.append_revocation_event(e, position++);
        tx.append_audit(audit_record(now, actors.at(i), "certificate.revoke", c.serial_hex, "ok",
                                     {{"host_id", e.host_id},
                                      {"reason", to_string(revocation_reason_from_code(e.reason))},
                                      {"ca_generation", generation},
                                      {"shard", shard},
                                      {"crl_number", crl.crl_number}}));
      }
      tx.append_audit(audit_record(now, actors.at(certs.front()), "crl.publish",
                                   crl_subject(generation, shard), "ok",
                                   {{"crl_number", crl.crl_number},
                                    {"entries", crl.entries},
                                    {"next_update", format_rfc3339(crl.next_update)}}));
      published.push_back(std::move(crl));
    }
  }
  return published;
}

void Authority::notify_published(const std::vector<PublishedCrl>& published) const {
  if (!crl_listener_) return;
  for (const auto& p : published) crl_listener_(p);
}

struct Authority::ReissueJob {
  const ReissueRequest* request = nullptr;
  std::string address;
  std::string host_id;
  CertificateRequest csr;
  Bytes key_hash;
  std::optional<HostName> new_name;
  std::optional<SecretToken> token;
  // Names given (a rename or new aliases): never in a batch.
  bool changes_names = false;
};

Authority::ReissueJob Authority::prepare_reissue(const ReissueRequest& request) {
  const std::string address = peer_address(request.peer);
  clock_check_.require_in_step("issue certificates or publish CRLs");
  // Everything that needs no database is checked first.
  const std::string host_id = parse_uuid(request.host_id, "host ID");
  CertificateRequest csr = CertificateRequest::parse(request.csr, config_.key_policy);
  Bytes key_hash = sha256(csr.spki());
  std::optional<HostName> new_name;
  if (!request.hostname.empty()) new_name = HostName::parse(request.hostname);
  std::optional<SecretToken> token;
  if (!request.reissue_token.empty()) {
    token = parse_token(request.reissue_token, SecretKind::kReissueToken, address);
  }
  return ReissueJob{&request,
                    address,
                    host_id,
                    std::move(csr),
                    std::move(key_hash),
                    std::move(new_name),
                    std::move(token),
                    !request.hostname.empty() || !request.aliases.empty()};
}

Reissue Authority::reissue(const ReissueRequest& request) {
  const ReissueJob job = prepare_reissue(request);
  if (job.changes_names || !reissue_batcher_) return reissue_alone(job);
  ReissueOutcome out = reissue_batcher_->run(job);
  if (out.error) std::rethrow_exception(out.error);
  return std::move(*out.reissue);
}

std::vector<Authority::ReissueOutcome> Authority::reissue_together(
    const std::vector<const ReissueRequest*>& requests) {
  std::vector<ReissueJob> jobs;
  std::vector<ReissueOutcome> refused(requests.size());
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    try {
      jobs.push_back(prepare_reissue(*requests[i]));
      at.push_back(i);
    } catch (...) {
      refused[i].error = std::current_exception();
    }
  }
  std::vector<const ReissueJob*> pointers;
  for (const auto& j : jobs) pointers.push_back(&j);
  std::vector<ReissueOutcome> ran;
  try {
    ran = run_reissue_batch(pointers);
  } catch (...) {
    // As the batcher does: each runs again alone.
    ran.clear();
    for (const auto* j : pointers) ran.push_back(run_reissue_batch({j}).front());
  }
  for (std::size_t k = 0; k < at.size(); ++k) refused[at[k]] = std::move(ran[k]);
  return refused;
}

Reissue Authority::reissue_alone(const ReissueJob& job) {
  const ReissueRequest& request = *job.request;
  const std::string& address = job.address;
  const std::string& host_id = job.host_id;
  const CertificateRequest& csr = job.csr;
  const Bytes& key_hash = job.key_hash;
  const std::optional<HostName>& new_name = job.new_name;
  const std::optional<SecretToken>& token = job.token;
  const auto keys = this->keys();

  std::optional<Reissue> result;
  std::vector<PublishedCrl> published;
  bool unknown = false;
  std::optional<std::pair<store::TokenRow, std::string>> refused;
  try {
    store_.transact([&](store::Tx& tx) {
      const TimePoint now = clock_.now();
      published.clear();
      unknown = false;
      refused.reset();
      std::optional<store::TokenRow> row;
      if (token) {
        row = tx.find_token_for_update(token->hash());
        if (!row || row->kind != store::TokenKind::kReissue) {
          unknown = true;
          require_usable(std::nullopt, now, SecretKind::kReissueToken);
        }
        if (const TokenState state = token_state(*row, now); state != TokenState::kUsable) {
          refused.emplace(*row, to_string(state));
          require_usable(row, now, SecretKind::kReissueToken);
        }
        if (row->host_id != host_id) {
          // A real token, the wrong host: refused with its own message, not a guess.
          refused.emplace(*row, "another host's token");
          throw permission_denied("this reissue token was made for another host, not " + host_id +
                                  "; ask an admin for a token for this host");
        }
      }
      const auto host = tx.lock_host(host_id);
      if (!host) {
        throw not_found("no host has the ID " + host_id + " (hostca-admin host list shows them)");
      }
      if (!token && !(host->auto_reissue_until && now < *host->auto_reissue_until)) {
        throw unauthenticated("no reissue token was given and host " + host_id +
                              " may not reissue without one; ask an admin for a reissue token "
                              "(hostca-admin reissue-token create) or an auto-reissue window");
      }
      require_new_key(tx, key_hash, host_id, "a reissue");

      const std::vector<store::CertificateRow> revoked = tx.revoke_host_certificates(
          host_id, now, static_cast<int>(RevocationReason::kSuperseded));

      // The names: a plain reissue keeps the host's own; a rename (which
      // drops the old aliases unless they are given again) or new aliases
      // need a reissue token, never just an auto-reissue window, since
      // whoever knows a host ID can use the window.
      if (host->hostname.empty() && !new_name) {
        throw failed_precondition("host " + host_id +
                                  " has no host name (an admin released it): reissue it with a "
                                  "new one ('hostca-agent reissue --hostname <name>')");
      }
      const HostName hostname = new_name ? *new_name : HostName::parse(host->hostname);
      const bool names_given = new_name || !request.aliases.empty();
      const std::vector<HostName> aliases =
          parse_aliases(names_given ? request.aliases : host->aliases, hostname);
      const std::vector<std::string> alias_texts = name_texts(aliases);
      const bool renamed = hostname.str() != host->hostname || alias_texts != host->aliases;
      if (renamed && !token) {
        throw permission_denied(
            "an auto-reissue window keeps the names of host " + host_id +
            "; a new host name or new aliases need a reissue token (hostca-admin reissue-token "
            "create)");
      }
      check_names(config_.names, hostname, aliases);
      refuse_held_names(tx.assign_host_names(host_id, hostname.str(), alias_texts, now), hostname);
      std::vector<std::string> released;
      if (renamed) {
        std::vector<std::string> kept = alias_texts;
        kept.push_back(hostname.str());
        std::vector<std::string> old = host->aliases;
        if (!host->hostname.empty()) old.push_back(host->hostname);
        for (const auto& n : old) {
          if (std::find(kept.begin(), kept.end(), n) == kept.end()) released.push_back(n);
        }
      }

      const std::string actor = token ? "token:" + row->token_id : "host:" + host_id;
      if (!revoked.empty()) published = publish_revocations(tx, *keys, revoked, actor, now);

      result = write_reissue(tx, *keys,
                             ReissueWrite{*host, hostname, aliases, csr, key_hash, row, actor,
                                          revoked, renamed, released},
                             now);
    });
  } catch (const Error& e) {
    if (unknown) refuse_unknown_token(address, SecretKind::kReissueToken, e);
    if (refused) audit_refused_token(address, refused->first, refused->second);
    throw;
  }
  notify_published(published);
  notify_committed(OperationOutcome{store::CertificateKind::kReissue,
                                    result->revoked_serials.size(), token.has_value()});
  spdlog::info("reissued certificate {} to host {}, revoking {}", result->certificate.serial_hex,
               host_id, result->revoked_serials.size());
  return std::move(*result);
}

Reissue Authority::write_reissue(store::Tx& tx, const Keys& keys, const ReissueWrite& w,
                                 TimePoint now) {
  const std::string& host_id = w.host.host_id;
  IssuedCertificate issued = keys.issuer().issue_host_certificate(host_id, w.hostname, w.aliases,
                                                                  w.csr, w.host.crl_shard, now);
  tx.insert_certificate(certificate_record(issued, store::CertificateKind::kReissue, host_id,
                                           w.host.crl_shard, w.key_hash, now));
  if (w.host.certificate_failure_at) tx.set_certificate_failure(host_id, std::nullopt, "", false);
  if (w.token) {
    tx.count_token_use(w.token->token_id);
    tx.append_audit(audit_record(now, w.actor, "token.use", w.token->token_id, "ok",
                                 {{"uses", w.token->uses + 1}, {"max_uses", w.token->max_uses}}));
  }
  // A window is for one reissue, however that reissue was authorised.
  if (w.host.auto_reissue_until) tx.set_auto_reissue_until(host_id, std::nullopt);
  std::vector<std::string> serials;
  for (const auto& c : w.revoked) serials.push_back(c.serial_hex);
  tx.append_audit(audit_record(now, w.actor, "certificate.reissue", host_id, "ok",
                               {{"serial", issued.serial_hex},
                                {"hostname", w.hostname.str()},
                                {"renamed", w.renamed},
                                {"released_names", w.released},
                                {"revoked", serials},
                                {"auto_reissue", !w.token},
                                {"not_after", format_rfc3339(issued.not_after)}}));
  return Reissue{host_id, std::move(issued), std::move(serials)};
}

namespace {
// A batch gives up: its unit of work rolls back and each request runs alone.
struct BatchGivesUp {};
}  // namespace

std::vector<Authority::ReissueOutcome> Authority::run_reissue_batch(
    const std::vector<const ReissueJob*>& jobs) {
  std::vector<ReissueOutcome> out(jobs.size());
  const auto alone = [&](std::size_t i) {
    try {
      out[i].reissue = reissue_alone(*jobs[i]);
    } catch (...) {
      out[i].error = std::current_exception();
    }
  };
  if (jobs.size() == 1) {
    alone(0);
    return out;
  }
  const auto keys = this->keys();
  // A request whose host, token or key an earlier one of the batch names
  // runs alone after it: within one unit of work the second would not see
  // the first's new certificate or the token's use.
  std::vector<bool> later(jobs.size(), false);
  {
    std::set<std::string> hosts;
    std::set<Bytes> tokens, keys_seen;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      const ReissueJob& j = *jobs[i];
      const bool fresh = hosts.insert(j.host_id).second &
                         (!j.token || tokens.insert(j.token->hash()).second) &
                         keys_seen.insert(j.key_hash).second;
      later[i] = !fresh || j.changes_names;
    }
  }

  struct Item {
    std::size_t job = 0;
    std::optional<store::TokenRow> token;
    store::HostRow host;
    std::optional<HostName> hostname;
    std::vector<HostName> aliases;
    std::string actor;
    std::vector<store::CertificateRow> revoked;
  };
  std::vector<Item> items;
  std::vector<PublishedCrl> published;
  bool reached_commit = false;
  try {
    store_.transact([&](store::Tx& tx) {
      const TimePoint now = clock_.now();
      items.clear();
      published.clear();
      reached_commit = false;
      for (auto& o : out) o = ReissueOutcome{};
      std::vector<bool> skip = later;
      // The tokens, locked in hash order. A request the batch would refuse
      // (unknown token, another host's, one not usable) leaves the batch
      // before it changes anything, and runs alone to be refused as ever.
      std::map<Bytes, std::optional<store::TokenRow>> token_rows;
      for (std::size_t i = 0; i < jobs.size(); ++i) {
        if (!skip[i] && jobs[i]->token) token_rows[jobs[i]->token->hash()];
      }
      if (!token_rows.empty()) {
        std::vector<Bytes> hashes;
        for (const auto& entry : token_rows) hashes.push_back(entry.first);
        auto rows = tx.lock_tokens(hashes);
        std::size_t k = 0;
        for (auto& entry : token_rows) entry.second = std::move(rows.at(k++));
      }
      for (std::size_t i = 0; i < jobs.size(); ++i) {
        if (skip[i] || !jobs[i]->token) continue;
        const auto& row = token_rows.at(jobs[i]->token->hash());
        skip[i] = !row || row->kind != store::TokenKind::kReissue ||
                  token_state(*row, now) != TokenState::kUsable || row->host_id != jobs[i]->host_id;
      }
      // The hosts, locked in ID order.
      std::map<std::string, std::optional<store::HostRow>> host_rows;
      for (std::size_t i = 0; i < jobs.size(); ++i) {
        if (!skip[i]) host_rows[jobs[i]->host_id];
      }
      if (!host_rows.empty()) {
        std::vector<std::string> ids;
        for (const auto& entry : host_rows) ids.push_back(entry.first);
        auto rows = tx.lock_hosts(ids);
        std::size_t k = 0;
        for (auto& entry : host_rows) entry.second = std::move(rows.at(k++));
      }
      for (std::size_t i = 0; i < jobs.size(); ++i) {
        if (skip[i]) continue;
        const ReissueJob& j = *jobs[i];
        const auto& host = host_rows.at(j.host_id);
        if (!host || host->hostname.empty() ||
            (!j.token && !(host->auto_reissue_until && now < *host->auto_reissue_until))) {
          skip[i] = true;
          continue;
        }
        Item item;
        item.job = i;
        item.host = *host;
        try {
          item.hostname = HostName::parse(host->hostname);
          item.aliases = parse_aliases(host->aliases, *item.hostname);
          check_names(config_.names, *item.hostname, item.aliases);
        } catch (const Error&) {
          skip[i] = true;
          continue;
        }
        // The names as they would be written must be the record's own: a
        // reissue alone would count anything else as a rename.
        if (item.hostname->str() != host->hostname || name_texts(item.aliases) != host->aliases) {
          skip[i] = true;
          continue;
        }
        if (j.token) item.token = token_rows.at(j.token->hash());
        item.actor = item.token ? "token:" + item.token->token_id : "host:" + j.host_id;
        items.push_back(std::move(item));
      }
      // The keys: one key, one host, one certificate.
      if (!items.empty()) {
        std::vector<std::pair<Bytes, std::string>> wanted;
        for (const auto& item : items) wanted.emplace_back(jobs[item.job]->key_hash, "");
        const auto holders = tx.find_hosts_with_keys(wanted);
        std::vector<Item> kept;
        for (std::size_t k = 0; k < items.size(); ++k) {
          if (holders.at(k)) {
            skip[items[k].job] = true;
          } else {
            kept.push_back(std::move(items[k]));
          }
        }
        items = std::move(kept);
      }
      if (items.empty()) return;
      // From here on the batch writes: revocations, in host order.
      std::sort(items.begin(), items.end(),
                [](const Item& a, const Item& b) { return a.host.host_id < b.host.host_id; });
      std::vector<std::string> ids;
      for (const auto& item : items) ids.push_back(item.host.host_id);
      std::map<std::string, std::size_t> item_of;
      for (std::size_t k = 0; k < items.size(); ++k) item_of[items[k].host.host_id] = k;
      std::vector<store::CertificateRow> revoked =
          tx.revoke_hosts_certificates(ids, now, static_cast<int>(RevocationReason::kSuperseded));
      std::vector<std::string> actors;
      for (const auto& c : revoked) {
        Item& item = items.at(item_of.at(c.host_id.value_or("")));
        item.revoked.push_back(c);
        actors.push_back(item.actor);
      }
      // Each host claims its own names again, all of them in name order.
      std::vector<store::HostRow> hosts;
      for (const auto& item : items) hosts.push_back(item.host);
      if (!tx.claim_own_names(hosts, now).empty()) throw BatchGivesUp{};
      if (!revoked.empty()) published = publish_revocations(tx, *keys, revoked, actors, now);

      for (auto& item : items) {
        const ReissueJob& j = *jobs[item.job];
        out[item.job].reissue = write_reissue(tx, *keys,
                                              ReissueWrite{item.host,
                                                           *item.hostname,
                                                           item.aliases,
                                                           j.csr,
                                                           j.key_hash,
                                                           item.token,
                                                           item.actor,
                                                           item.revoked,
                                                           false,
                                                           {}},
                                              now);
      }
      reached_commit = true;
    });
  } catch (...) {
    // Failed before the commit: nothing was written, and each request runs
    // alone. Only a commit whose outcome is unknown is not run again: it
    // may have written.
    if (reached_commit) {
      try {
        throw;
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::kUnavailable) {
          for (auto& o : out) {
            o.reissue.reset();
            o.error = std::current_exception();
          }
          return out;
        }
      } catch (...) {
      }
    }
    for (auto& o : out) o = ReissueOutcome{};
    for (std::size_t i = 0; i < jobs.size(); ++i) alone(i);
    return out;
  }
  notify_published(published);
  for (const auto& item : items) {
    const Reissue& r = *out[item.job].reissue;
    notify_committed(OperationOutcome{store::CertificateKind::kReissue, r.revoked_serials.size(),
                                      item.token.has_value()});
    spdlog::info("reissued certificate {} to host {}, revoking {} (in a batch of {})",
                 r.certificate.serial_hex, r.host_id, r.revoked_serials.size(), items.size());
  }
  // Those the batch left out run alone now.
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (!out[i].reissue) alone(i);
  }
  return out;
}

CreatedToken Authority::create_reissue_token(const Actor& actor, const NewReissueToken& request) {
  const std::string host_id = parse_uuid(request.host_id, "host ID");
  const std::string reason = checked_label(request.reason, "token reason", 1000);
  const Duration valid_for = config_.tokens.checked_validity(request.valid_for);
  SecretToken token = SecretToken::generate(SecretKind::kReissueToken, rng_);
  store::TokenRow row;
  row.token_id = new_uuid(rng_);
  row.kind = store::TokenKind::kReissue;
  row.token_hash = token.hash();
  row.reason = reason;
  row.host_id = host_id;
  row.max_uses = 1;
  row.created_by = actor.id;
  store_.transact([&](store::Tx& tx) {
    const auto host = tx.find_host(host_id);
    if (!host) {
      throw not_found("no host has the ID " + host_id + " (hostca-admin host list shows them)");
    }
    row.name = host->hostname;
    row.created_at = clock_.now();
    row.expires_at = row.created_at + valid_for;
    tx.insert_token(row);
    tx.append_audit(audit_record(row.created_at, actor.id, "token.create", row.token_id, "ok",
                                 {{"kind", "reissue"},
                                  {"host_id", host_id},
                                  {"expires_at", format_rfc3339(row.expires_at)}}));
  });
  return CreatedToken{std::move(token), row.token_id, row.expires_at};
}

TimePoint Authority::allow_auto_reissue(const Actor& actor, const std::string& host_id,
                                        Duration window) {
  const std::string id = parse_uuid(host_id, "host ID");
  if (window <= Duration::zero())
    throw invalid_argument("the auto-reissue window must be positive");
  if (window > config_.max_auto_reissue_window) {
    throw invalid_argument("the auto-reissue window is at most " +
                           std::to_string(std::chrono::duration_cast<std::chrono::hours>(
                                              config_.max_auto_reissue_window)
                                              .count()) +
                           "h");
  }
  TimePoint until;
  store_.transact([&](store::Tx& tx) {
    if (!tx.lock_host(id)) {
      throw not_found("no host has the ID " + id + " (hostca-admin host list shows them)");
    }
    const TimePoint now = clock_.now();
    until = now + window;
    tx.set_auto_reissue_until(id, until);
    tx.append_audit(audit_record(now, actor.id, "host.allow_auto_reissue", id, "ok",
                                 {{"until", format_rfc3339(until)}}));
  });
  return until;
}

namespace {
bool certificate_names(const store::CertificateRow& c, const std::string& name) {
  try {
    const Botan::X509_Certificate cert(c.der);
    for (const auto& dns : cert.subject_alt_name().get_attribute("DNS")) {
      if (dns == name) return true;
    }
    return false;
  } catch (const std::exception& e) {
    throw internal_error("certificate " + c.serial_hex + " on record cannot be read: " + e.what());
  }
}
}  // namespace

std::vector<std::string> Authority::release_host_name(const Actor& actor,
                                                      const NameRelease& request) {
  const auto keys = this->keys();
  const std::string host_id = parse_uuid(request.host_id, "host ID");
  const HostName name = HostName::parse(request.name, "name");
  const RevocationReason reason = revocation_reason_from_code(request.reason_code);
  std::vector<std::string> serials;
  std::vector<PublishedCrl> published;
  store_.transact([&](store::Tx& tx) {
    serials.clear();
    published.clear();
    const TimePoint now = clock_.now();
    const auto host = tx.lock_host(host_id);
    if (!host) {
      throw not_found("no host has the ID " + host_id + " (hostca-admin host list shows them)");
    }
    if (!tx.release_host_name(host_id, name.str())) {
      throw not_found("host " + host_id + " does not hold the name " + name.str());
    }
    // Certificates still valid that carry the name would keep it in use.
    std::vector<store::CertificateRow> carrying;
    for (auto& c : tx.list_host_certificates(host_id)) {
      if (!c.revoked_at && c.not_after > now && certificate_names(c, name.str())) {
        carrying.push_back(std::move(c));
      }
    }
    if (!carrying.empty() && !request.revoke_certificates) {
      std::string list;
      for (const auto& c : carrying) list += (list.empty() ? "" : ", ") + c.serial_hex;
      throw failed_precondition(
          "host " + host_id + " holds valid certificates that carry " + name.str() + " (" + list +
          "): release it together with their revocation (revoke_certificates; "
          "hostca-admin host release-name --revoke), or wait until they "
          "expire");
    }
    for (auto& c : carrying) {
      tx.revoke_certificate(c.serial_hex, now, static_cast<int>(reason));
      c.revoked_at = now;
      c.revocation_reason = static_cast<int>(reason);
      serials.push_back(c.serial_hex);
    }
    if (!carrying.empty()) published = publish_revocations(tx, *keys, carrying, actor.id, now);
    tx.append_audit(audit_record(now, actor.id, "host.release_name", host_id, "ok",
                                 {{"name", name.str()},
                                  {"was", name.str() == host->hostname ? "hostname" : "alias"},
                                  {"revoked", serials}}));
  });
  notify_published(published);
  if (!serials.empty()) notify_committed(OperationOutcome{std::nullopt, serials.size(), false});
  spdlog::info("host {} released the name {} (revoked {})", host_id, name.str(), serials.size());
  return serials;
}

std::vector<std::string> Authority::revoke(const Actor& actor, const RevocationRequest& request) {
  const auto keys = this->keys();
  if (request.serial_hex.empty() == request.host_id.empty()) {
    throw invalid_argument("name exactly one of a serial or a host ID to revoke");
  }
  const RevocationReason reason = revocation_reason_from_code(request.reason_code);
  const std::string serial =
      request.serial_hex.empty() ? std::string() : canonical_serial(request.serial_hex);
  const std::string host_id =
      request.host_id.empty() ? std::string() : parse_uuid(request.host_id, "host ID");

  clock_check_.require_in_step("publish CRLs");
  std::vector<std::string> serials;
  std::vector<PublishedCrl> published;
  store_.transact([&](store::Tx& tx) {
    const TimePoint now = clock_.now();
    std::vector<store::CertificateRow> revoked;
    if (!serial.empty()) {
      // The host row first, then the certificate: the order a reissue takes
      // them. The host row is written at commit (its state follows its
      // certificates, migration 0015); the other order could deadlock.
      if (const auto host = tx.host_of_certificate(serial); host && !host->empty()) {
        tx.lock_host(*host);
      }
      auto cert = tx.find_certificate_for_update(serial);
      if (!cert) throw not_found("no certificate has the serial " + serial);
      if (!cert->host_id) {
        throw failed_precondition("certificate " + serial +
                                  " is a server TLS certificate, not a host certificate");
      }
      if (cert->revoked_at) throw failed_precondition(describe_revocation(*cert));
      tx.revoke_certificate(serial, now, static_cast<int>(reason));
      cert->revoked_at = now;
      cert->revocation_reason = static_cast<int>(reason);
      revoked.push_back(*cert);
    } else {
      if (!tx.lock_host(host_id)) {
        throw not_found("no host has the ID " + host_id + " (hostca-admin host list shows them)");
      }
      revoked = tx.revoke_host_certificates(host_id, now, static_cast<int>(reason));
      if (revoked.empty()) {
        throw failed_precondition(
            "host " + host_id + " has no certificate left to revoke (all are revoked or expired)");
      }
    }
    published = publish_revocations(tx, *keys, revoked, actor.id, now);
    serials.clear();
    for (const auto& c : revoked) serials.push_back(c.serial_hex);
  });
  notify_published(published);
  notify_committed(OperationOutcome{std::nullopt, serials.size(), false});
  return serials;
}

int Authority::republish_due_crls() {
  clock_check_.require_in_step("publish CRLs");
  const auto keys = this->keys();
  const std::vector<int> generations = keys->ring->publishing(clock_.now());
  int count = 0;
  // Every shard and the CA scope of every key that publishes, at most.
  const int most = (config_.crl_shards + 1) * static_cast<int>(generations.size());
  for (int i = 0; i < most; ++i) {
    std::optional<PublishedCrl> crl;
    store_.transact([&](store::Tx& tx) {
      crl.reset();
      const TimePoint now = clock_.now();
      const auto due = tx.lock_due_crl_shard(now + config_.crl.republish_before, generations);
      if (!due) return;
      crl = keys->publisher(due->first).publish(tx, due->second, now);
      tx.append_audit(audit_record(now, "server", "crl.publish",
                                   crl_subject(due->first, due->second), "ok",
                                   {{"crl_number", crl->crl_number},
                                    {"entries", crl->entries},
                                    {"scheduled", true},
                                    {"next_update", format_rfc3339(crl->next_update)}}));
    });
    if (!crl) break;
    notify_published({*crl});
    ++count;
  }
  return count;
}

std::vector<store::CrlShardRow> Authority::ca_scope_crls() {
  const auto generations = keys()->ring->publishing(clock_.now());
  std::vector<store::CrlShardRow> out;
  for (auto& row : store_.transact(
           [](store::Tx& tx) { return tx.list_crls(std::nullopt, store::kCaCrlScope); })) {
    const bool published = !row.der.empty();
    if (published &&
        std::find(generations.begin(), generations.end(), row.ca_generation) != generations.end()) {
      out.push_back(std::move(row));
    }
  }
  return out;
}

std::vector<store::CrlShardRow> Authority::crl_heads() {
  const auto generations = keys()->ring->publishing(clock_.now());
  std::vector<store::CrlShardRow> out;
  for (auto& row : store_.transact([](store::Tx& tx) { return tx.list_crl_heads(); })) {
    if (row.crl_number > 0 &&
        std::find(generations.begin(), generations.end(), row.ca_generation) != generations.end()) {
      out.push_back(std::move(row));
    }
  }
  return out;
}

std::vector<store::CrlShardRow> Authority::crls(std::optional<int> shard,
                                                std::optional<int> ca_generation) {
  if (shard && (*shard < 0 || *shard >= config_.crl_shards)) {
    throw not_found("there is no CRL shard " + std::to_string(*shard) + "; shards are 0-" +
                    std::to_string(config_.crl_shards - 1));
  }
  const auto generations = keys()->ring->publishing(clock_.now());
  if (ca_generation &&
      std::find(generations.begin(), generations.end(), *ca_generation) == generations.end()) {
    throw not_found("CA key " + std::to_string(*ca_generation) +
                    " publishes no CRLs (hostca-admin ca status lists the keys)");
  }
  std::vector<store::CrlShardRow> out;
  for (auto& row :
       store_.transact([&](store::Tx& tx) { return tx.list_crls(ca_generation, shard); })) {
    if (std::find(generations.begin(), generations.end(), row.ca_generation) != generations.end()) {
      out.push_back(std::move(row));
    }
  }
  return out;
}

std::vector<store::RevocationEventRow> Authority::revocation_events(std::int64_t after_sequence,
                                                                    std::uint32_t limit) {
  return store_.transact(
      [&](store::Tx& tx) { return tx.list_revocation_events(after_sequence, limit); });
}

std::int64_t Authority::revocation_stream_head() {
  return store_.transact([](store::Tx& tx) { return tx.revocation_stream_head(); });
}

}  // namespace hostca
