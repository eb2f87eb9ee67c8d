#include "domain/crl_publisher.h"

#include <algorithm>

#include "common/error.h"

namespace hostca {

void CrlPolicy::validate() const {
  if (validity < std::chrono::seconds(10)) {
    throw invalid_argument("crl validity must be at least 10 seconds");
  }
  if (validity > std::chrono::hours(24 * 31)) {
    throw invalid_argument("crl validity must be at most 31 days");
  }
  if (republish_before <= Duration::zero() || republish_before >= validity) {
    throw invalid_argument("crl republish-before must be positive and shorter than crl validity");
  }
}

CrlPublisher::CrlPublisher(std::shared_ptr<const Signer> signer, CertificateProfile profile,
                           int shard_count, CrlPolicy policy, int ca_generation)
    : builder_(std::move(signer)),
      profile_(std::move(profile)),
      shard_count_(shard_count),
      policy_(policy),
      ca_generation_(ca_generation) {
  profile_.validate();
  policy_.validate();
  if (shard_count_ < 1) throw invalid_argument("crl shards must be at least 1");
}

PublishedCrl CrlPublisher::publish(store::CrlTx& tx, int shard, TimePoint now) const {
  return std::move(publish_many(tx, {shard}, now).front());
}

std::vector<PublishedCrl> CrlPublisher::publish_many(store::CrlTx& tx,
                                                     const std::vector<int>& shards,
                                                     TimePoint now) const {
  for (int shard : shards) {
    if (shard < store::kCaCrlScope || shard >= shard_count_) {
      throw invalid_argument("CRL shard " + std::to_string(shard) +
                             " does not exist; shards are 0-" + std::to_string(shard_count_ - 1));
    }
  }
  const auto started = std::chrono::steady_clock::now();
  // The locks come first: the entries read after them include every
  // revocation committed before this publication. One shard alone takes
  // the one-row forms; several (a batch of reissues) one statement each.
  std::vector<store::CrlShardRow> locked;
  std::vector<std::vector<store::CrlEntryRow>> entries;
  if (shards.size() == 1) {
    locked.push_back(tx.lock_crl_shard(ca_generation_, shards.front()));
    entries.push_back(tx.list_crl_entries(ca_generation_, shards.front()));
  } else {
    locked = tx.lock_crl_shards(ca_generation_, shards);
    entries = tx.list_crl_entries_of(ca_generation_, shards);
  }
  std::vector<PublishedCrl> published;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    published.push_back(build_and_save(tx, shards[i], locked[i], entries[i], now));
  }
  const auto elapsed = (std::chrono::steady_clock::now() - started) /
                       static_cast<std::int64_t>(std::max<std::size_t>(shards.size(), 1));
  for (auto& p : published) p.elapsed = elapsed;
  return published;
}

PublishedCrl CrlPublisher::build_and_save(store::CrlTx& tx, int shard,
                                          const store::CrlShardRow& previous,
                                          const std::vector<store::CrlEntryRow>& entries,
                                          TimePoint now) const {
  CrlContents contents;
  contents.crl_number = previous.crl_number + 1;
  contents.this_update = TimePoint(std::chrono::duration_cast<std::chrono::seconds>(
      now.time_since_epoch()));  // X.509 times have whole seconds
  // Never before the previous CRL of this shard, even if clocks disagree;
  // never after the database's clock either: a server whose clock runs fast
  // must not date a CRL in the future (relying parties refuse it), nor carry
  // such a date into the shard's later CRLs.
  contents.this_update = std::max(contents.this_update, previous.this_update);
  const TimePoint database_now = TimePoint(
      std::chrono::duration_cast<std::chrono::seconds>(previous.database_time.time_since_epoch()));
  if (previous.database_time.time_since_epoch().count() > 0) {
    contents.this_update = std::min(contents.this_update, database_now);
  }
  contents.next_update = contents.this_update + policy_.validity;
  if (shard == store::kCaCrlScope) {
    contents.only_ca_certificates = true;
  } else {
    contents.distribution_point_url = profile_.crl_url(shard, ca_generation_);
  }
  bool any_expired = false;
  contents.entries.reserve(entries.size());
  for (const auto& e : entries) {
    contents.entries.push_back(
        CrlEntry{e.serial_hex, e.revoked_at, revocation_reason_from_code(e.reason)});
    any_expired = any_expired || e.not_after < contents.this_update;
  }
  store::CrlShardRow next;
  next.ca_generation = ca_generation_;
  next.shard = shard;
  next.crl_number = static_cast<std::int64_t>(contents.crl_number);
  next.this_update = contents.this_update;
  next.next_update = contents.next_update;
  next.der = builder_.build(contents);
  tx.save_crl(next);
  // Entries that expired before this CRL's thisUpdate have now appeared on
  // a CRL issued past their expiry: later CRLs leave them out. (Most
  // publications have none, and skip the statement.) thisUpdate is at most
  // the database's time, so no entry is retired early by a fast clock.
  if (any_expired) tx.retire_expired_crl_entries(ca_generation_, shard, contents.this_update);
  return PublishedCrl{ca_generation_,      shard,
                      next.crl_number,     next.this_update,
                      next.next_update,    contents.entries.size(),
                      std::move(next.der), std::chrono::nanoseconds(0)};
}

}  // namespace hostca
