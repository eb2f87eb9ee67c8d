#include "server/crl_cache.h"

#include <ctime>

#include <botan/base64.h>

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
    : authority_(authority), shards_(static_cast<std::size_t>(authority.crl_shards())) {
  bundle_ = std::make_shared<const CachedBundle>();
}

void CrlCache::refresh(std::optional<int> shard) {
  std::vector<store::CrlShardRow> rows;
  if (shard != store::kCaCrlScope) rows = authority_.crls(shard);
  if (!shard || shard == store::kCaCrlScope) {
    if (auto ca = authority_.ca_scope_crl()) rows.push_back(std::move(*ca));
  }
  std::lock_guard<std::mutex> lock(mu_);
  bool changed = false;
  for (const auto& row : rows) changed = store_locked(row) || changed;
  if (changed) bundle_stale_ = true;
}

void CrlCache::offer(const store::CrlShardRow& crl) {
  std::lock_guard<std::mutex> lock(mu_);
  if (store_locked(crl)) bundle_stale_ = true;
}

bool CrlCache::holds(int shard, std::int64_t crl_number) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (shard == store::kCaCrlScope) return ca_scope_ && ca_scope_->crl_number >= crl_number;
  if (shard < 0 || shard >= static_cast<int>(shards_.size())) return false;
  const auto& slot = shards_[static_cast<std::size_t>(shard)];
  return slot && slot->crl_number >= crl_number;
}

bool CrlCache::store_locked(const store::CrlShardRow& row) {
  if (row.der.empty() || row.shard < store::kCaCrlScope ||
      row.shard >= static_cast<int>(shards_.size())) {
    return false;
  }
  auto& slot =
      row.shard == store::kCaCrlScope ? ca_scope_ : shards_[static_cast<std::size_t>(row.shard)];
  if (slot && slot->crl_number >= row.crl_number) return false;
  auto crl = std::make_shared<CachedCrl>();
  crl->shard = row.shard;
  crl->crl_number = row.crl_number;
  crl->this_update = row.this_update;
  crl->next_update = row.next_update;
  crl->der.assign(row.der.begin(), row.der.end());
  crl->etag = "\"" +
              (row.shard == store::kCaCrlScope ? std::string("ca") : std::to_string(row.shard)) +
              "-" + std::to_string(row.crl_number) + "\"";
  crl->last_modified = http_date(row.this_update);
  slot = std::move(crl);
  return true;
}

void CrlCache::rebuild_bundle() const {
  auto bundle = std::make_shared<CachedBundle>();
  std::string numbers;
  if (ca_scope_) {
    bundle->pem += pem_of(ca_scope_->der);
    numbers += "ca:" + std::to_string(ca_scope_->crl_number) + ",";
  }
  for (const auto& s : shards_) {
    if (!s) continue;
    bundle->pem += pem_of(s->der);
    numbers += std::to_string(s->shard) + ":" + std::to_string(s->crl_number) + ",";
  }
  bundle->etag = "\"all-" + std::to_string(std::hash<std::string>{}(numbers)) + "\"";
  bundle_ = std::move(bundle);
  bundle_stale_ = false;
}

std::shared_ptr<const CachedCrl> CrlCache::shard(int shard) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (shard < 0 || shard >= static_cast<int>(shards_.size())) return nullptr;
  return shards_[static_cast<std::size_t>(shard)];
}

std::shared_ptr<const CachedCrl> CrlCache::ca_scope() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ca_scope_;
}

std::shared_ptr<const CachedBundle> CrlCache::bundle() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (bundle_stale_) rebuild_bundle();
  return bundle_;
}

}  // namespace hostca
