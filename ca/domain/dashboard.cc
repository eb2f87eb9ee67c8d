// What the console's dashboard and CRL page read: counts kept cheap at
// fleet size (hosts carry their state, migration 0015), the CRLs of every
// key that publishes without their DER, and the newest audit events.
#include <algorithm>
#include <map>
#include <tuple>

#include "common/error.h"
#include "domain/authority.h"

namespace hostca {

namespace {

CrlShardHead head_of(const store::CrlShardRow& row, TimePoint now) {
  CrlShardHead h;
  h.ca_generation = row.ca_generation;
  h.shard = row.shard;
  h.crl_number = row.crl_number;
  // CRL number 0: the shard's row exists, its first CRL is not out yet.
  if (row.crl_number > 0) {
    h.this_update = row.this_update;
    h.next_update = row.next_update;
  }
  h.stale = !h.next_update || *h.next_update <= now;
  return h;
}

// Stale first, then the soonest next_update, then key and shard.
bool more_urgent(const CrlShardHead& a, const CrlShardHead& b) {
  if (a.stale != b.stale) return a.stale;
  const TimePoint an = a.next_update.value_or(TimePoint::min());
  const TimePoint bn = b.next_update.value_or(TimePoint::min());
  if (an != bn) return an < bn;
  return std::tie(a.ca_generation, a.shard) < std::tie(b.ca_generation, b.shard);
}

}  // namespace

Dashboard Authority::dashboard(std::size_t soonest, std::uint32_t recent) {
  Dashboard d;
  d.as_of = clock_.now();
  const auto publishing = keys()->ring->publishing(d.as_of);
  std::vector<store::CrlShardRow> heads;
  store_.transact([&](store::Tx& tx) {
    d.counts = tx.count_for_dashboard(d.as_of);
    heads = tx.list_crl_heads();
    d.recent_events = tx.list_latest_audit(recent);
  });
  std::vector<CrlShardHead> all;
  std::map<int, CrlKeySummary> summary;
  for (const auto& row : heads) {
    if (std::find(publishing.begin(), publishing.end(), row.ca_generation) == publishing.end()) {
      continue;
    }
    all.push_back(head_of(row, d.as_of));
    const CrlShardHead& h = all.back();
    auto [it, first] = summary.try_emplace(h.ca_generation);
    CrlKeySummary& s = it->second;
    if (first) {
      s.ca_generation = h.ca_generation;
      s.lowest_crl_number = h.crl_number;
      s.highest_crl_number = h.crl_number;
    }
    s.shards += 1;
    s.stale += h.stale ? 1 : 0;
    s.lowest_crl_number = std::min(s.lowest_crl_number, h.crl_number);
    s.highest_crl_number = std::max(s.highest_crl_number, h.crl_number);
    if (h.next_update && (!s.soonest_next_update || *h.next_update < *s.soonest_next_update)) {
      s.soonest_next_update = h.next_update;
    }
  }
  for (auto& [generation, s] : summary) d.crl_summary.push_back(s);
  const std::size_t shown = std::min(soonest, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(shown), all.end(),
                    more_urgent);
  all.resize(shown);
  d.crl_soonest = std::move(all);
  // Without its counts: each is a scan of the fleet (GetCaStatus has them).
  d.ca = ca_status(false);
  return d;
}

CrlShardPage Authority::crl_shard_page(int ca_generation, std::optional<int> after_shard,
                                       std::uint32_t limit) {
  if (limit == 0) limit = 256;
  if (limit > 4096) throw invalid_argument("limit must be at most 4096");
  const TimePoint now = clock_.now();
  const auto k = keys();
  const int generation = ca_generation == 0 ? k->ring->active().generation : ca_generation;
  const auto publishing = k->ring->publishing(now);
  if (std::find(publishing.begin(), publishing.end(), generation) == publishing.end()) {
    throw not_found("CA key " + std::to_string(generation) +
                    " publishes no CRLs (GetCaStatus lists the keys and which publish)");
  }
  if (after_shard && (*after_shard < store::kCaCrlScope || *after_shard >= config_.crl_shards)) {
    throw invalid_argument("after_shard must be between -1 and " +
                           std::to_string(config_.crl_shards - 1) +
                           " (next_after_shard of the previous answer)");
  }
  const auto heads = store_.transact([](store::Tx& tx) { return tx.list_crl_heads(); });
  std::vector<CrlShardHead> of_key;
  for (const auto& row : heads) {
    if (row.ca_generation == generation && (!after_shard || row.shard > *after_shard)) {
      of_key.push_back(head_of(row, now));
    }
  }
  std::sort(of_key.begin(), of_key.end(),
            [](const CrlShardHead& a, const CrlShardHead& b) { return a.shard < b.shard; });
  CrlShardPage page;
  if (of_key.size() > limit) {
    of_key.resize(limit);
    page.next_after_shard = of_key.back().shard;
  }
  page.shards = std::move(of_key);
  return page;
}

}  // namespace hostca
