#include "server/crl_cache.h"

#include <algorithm>
#include <ctime>

#include <botan/base64.h>
#include <spdlog/spdlog.h>

namespace hostca {

std::string http_date(TimePoint t) {
  const std::time_t secs = static_cast<std::time_t>(to_unix_seconds(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

namespace {
std::string pem_of(const std::string& der) {
  const std::string b64 =
      Botan::base64_encode(reinterpret_cast<const std::uint8_t*>(der.data()), der.size());
  std::string out = "-----BEGIN X509 CRL-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  out += "-----END X509 CRL-----\n";
  return out;
}
}  // namespace

CrlCache::CrlCache(Authority& authority)
    : authority_(authority), shard_count_(authority.crl_shards()) {
  bundle_ = std::make_shared<const CachedBundle>();
}

namespace {
// Past this many CRLs to read, one statement for all of them is cheaper.
constexpr std::size_t kReadOneByOneAtMost = 64;
}  // namespace

void CrlCache::refresh(std::optional<std::pair<int, int>> generation_and_shard) {
  std::vector<store::CrlShardRow> rows;
  if (!generation_and_shard) {
    // The numbers first: only the CRLs this cache lacks are read in full.
    // (The fallback timer runs this every check interval; with a million
    // revoked over 4,096 shards, reading them all was 51 MB each time.)
    std::vector<std::pair<int, int>> stale;
    for (const auto& head : authority_.crl_heads()) {
      if (!holds(head.ca_generation, head.shard, head.crl_number)) {
        stale.emplace_back(head.ca_generation, head.shard);
      }
    }
    if (stale.size() > kReadOneByOneAtMost) {
      rows = authority_.crls(std::nullopt);
      for (auto& ca : authority_.ca_scope_crls()) rows.push_back(std::move(ca));
    } else {
      for (const auto& [generation, shard] : stale) {
        if (shard == store::kCaCrlScope) {
          for (auto& ca : authority_.ca_scope_crls()) {
            if (ca.ca_generation == generation) rows.push_back(std::move(ca));
          }
        } else {
          for (auto& row : authority_.crls(shard, generation)) rows.push_back(std::move(row));
        }
      }
    }
  } else if (generation_and_shard->second == store::kCaCrlScope) {
    for (auto& ca : authority_.ca_scope_crls()) {
      if (ca.ca_generation == generation_and_shard->first) rows.push_back(std::move(ca));
    }
  } else {
    rows = authority_.crls(generation_and_shard->second, generation_and_shard->first);
  }
  std::lock_guard<std::mutex> lock(mu_);
  bool changed = false;
  if (!generation_and_shard) {
    // A key whose CA certificate has expired publishes no more.
    const auto publishing = authority_.ring()->publishing(authority_.clock().now());
    for (auto it = crls_.begin(); it != crls_.end();) {
      if (std::find(publishing.begin(), publishing.end(), it->first.first) == publishing.end()) {
        it = crls_.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
  }
  for (const auto& row : rows) changed = store_locked(row) || changed;
  if (changed) bundle_stale_ = true;
}

void CrlCache::offer(const store::CrlShardRow& crl) {
  std::lock_guard<std::mutex> lock(mu_);
  if (store_locked(crl)) bundle_stale_ = true;
}

bool CrlCache::holds(int ca_generation, int shard, std::int64_t crl_number) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = crls_.find({ca_generation, shard});
  return it != crls_.end() && it->second->crl_number >= crl_number;
}

bool CrlCache::store_locked(const store::CrlShardRow& row) {
  if (row.der.empty() || row.shard < store::kCaCrlScope || row.shard >= shard_count_ ||
      row.ca_generation < 1) {
    return false;
  }
  auto& slot = crls_[{row.ca_generation, row.shard}];
  if (slot && slot->crl_number >= row.crl_number) return false;
  auto crl = std::make_shared<CachedCrl>();
  crl->ca_generation = row.ca_generation;
  crl->shard = row.shard;
  crl->crl_number = row.crl_number;
  crl->this_update = row.this_update;
  crl->next_update = row.next_update;
  crl->der.assign(row.der.begin(), row.der.end());
  // Unique across keys: each key's CRL numbers start at 1.
  const std::string shard_name =
      row.shard == store::kCaCrlScope ? std::string("ca") : std::to_string(row.shard);
  crl->etag =
      "\"" +
      (row.ca_generation == 1 ? shard_name
                              : "g" + std::to_string(row.ca_generation) + "-" + shard_name) +
      "-" + std::to_string(row.crl_number) + "\"";
  crl->last_modified = http_date(row.this_update);
  slot = std::move(crl);
  return true;
}

void CrlCache::rebuild_bundle() const {
  auto bundle = std::make_shared<CachedBundle>();
  std::string numbers;
  for (const auto& [where, crl] : crls_) {
    bundle->pem += pem_of(crl->der);
    numbers += std::to_string(where.first) + ":" + std::to_string(where.second) + ":" +
               std::to_string(crl->crl_number) + ",";
  }
  bundle->etag = "\"all-" + std::to_string(std::hash<std::string>{}(numbers)) + "\"";
  bundle_ = std::move(bundle);
  bundle_stale_ = false;
}

std::shared_ptr<const CachedCrl> CrlCache::shard(int ca_generation, int shard) const {
  if (shard < 0) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = crls_.find({ca_generation, shard});
  return it == crls_.end() ? nullptr : it->second;
}

std::shared_ptr<const CachedCrl> CrlCache::ca_scope(int ca_generation) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = crls_.find({ca_generation, store::kCaCrlScope});
  return it == crls_.end() ? nullptr : it->second;
}

std::shared_ptr<const CachedBundle> CrlCache::bundle() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (bundle_stale_) rebuild_bundle();
  return bundle_;
}

DeferredCrlRefresh::DeferredCrlRefresh(Holds holds, Refresh refresh,
                                       std::chrono::milliseconds grace)
    : holds_(std::move(holds)), refresh_(std::move(refresh)), grace_(grace) {
  thread_ = std::thread([this] { run(); });
}

DeferredCrlRefresh::~DeferredCrlRefresh() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void DeferredCrlRefresh::notified(int generation, int shard, std::int64_t crl_number) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // The first notification sets when: a shard that keeps changing is
    // still read within `grace`.
    auto [it, added] = pending_.try_emplace({generation, shard});
    if (added) it->second.due = std::chrono::steady_clock::now() + grace_;
    it->second.crl_number = std::max(it->second.crl_number, crl_number);
  }
  changed_.notify_all();
}

std::uint64_t DeferredCrlRefresh::refreshes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return refreshes_;
}

void DeferredCrlRefresh::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (pending_.empty()) {
      changed_.wait(lock);
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    auto earliest = std::chrono::steady_clock::time_point::max();
    std::vector<std::pair<std::pair<int, int>, std::int64_t>> due;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.due <= now) {
        due.emplace_back(it->first, it->second.crl_number);
        it = pending_.erase(it);
      } else {
        earliest = std::min(earliest, it->second.due);
        ++it;
      }
    }
    if (due.empty()) {
      changed_.wait_until(lock, earliest);
      continue;
    }
    lock.unlock();
    for (const auto& [key, number] : due) {
      if (holds_(key.first, key.second, number)) continue;
      try {
        refresh_(key.first, key.second);
      } catch (const std::exception& e) {
        spdlog::warn("cannot refresh CRL shard {}:{}: {}", key.first, key.second, e.what());
      }
      std::lock_guard<std::mutex> count(mu_);
      ++refreshes_;
    }
    lock.lock();
  }
}

}  // namespace hostca
