// The current CRL of every shard of every CA key that publishes, in memory,
// for the HTTP endpoint: a conditional GET answered from here costs no
// database round trip. It is refreshed after every local publication, on
// every NOTIFY from another server, and on a timer as a fallback.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "domain/authority.h"

namespace hostca {

struct CachedCrl {
  int ca_generation = 1;
  int shard = 0;
  std::int64_t crl_number = 0;
  TimePoint this_update;
  TimePoint next_update;
  std::string der;
  std::string etag;           // quoted, changes with the CRL number
  std::string last_modified;  // HTTP date of thisUpdate
};

struct CachedBundle {
  // Per CA key in generation order: its CA scope CRL, then every published
  // shard in shard order.
  std::string pem;
  std::string etag;
};

class CrlCache {
 public:
  explicit CrlCache(Authority& authority);

  // Reloads one shard of one key, or every CRL of every key that
  // publishes; never moves a shard back to an older CRL.
  void refresh(std::optional<std::pair<int, int>> generation_and_shard);
  // Takes a CRL this server has just published, without reading it back.
  void offer(const store::CrlShardRow& crl);
  // Whether the cache holds this CRL of the key's shard (kCaCrlScope: the
  // CA scope) or a newer one.
  bool holds(int ca_generation, int shard, std::int64_t crl_number) const;

  // Null when the key or the shard has no CRL here.
  std::shared_ptr<const CachedCrl> shard(int ca_generation, int shard) const;
  // The key's CRL covering CA certificates only.
  std::shared_ptr<const CachedCrl> ca_scope(int ca_generation) const;
  std::shared_ptr<const CachedBundle> bundle() const;

 private:
  // With mu_ held. The bundle holds every CRL, so it is rebuilt only when
  // asked for after a change: a publication costs the size of its own
  // shard, never that of every revocation on record.
  void rebuild_bundle() const;
  // With mu_ held; true if the row replaced what the slot held.
  bool store_locked(const store::CrlShardRow& row);

  Authority& authority_;
  const int shard_count_;
  mutable std::mutex mu_;
  // By (generation, shard); the CA scope's shard is kCaCrlScope, first.
  std::map<std::pair<int, int>, std::shared_ptr<const CachedCrl>> crls_;
  mutable std::shared_ptr<const CachedBundle> bundle_;
  mutable bool bundle_stale_ = false;
};

// What a NOTIFY of a new CRL sets off: the shard is read again a little
// later, and only if the cache does not hold that CRL (or a newer one) by
// then. This server's own publications come back by NOTIFY about when the
// publishing thread hands the cache their DER, mostly just before it:
// reading them back cost 4 % of a server's CPU under reissue load, more
// with large shards. Another server's CRL is served at most `grace` later.
class DeferredCrlRefresh {
 public:
  using Holds = std::function<bool(int generation, int shard, std::int64_t crl_number)>;
  using Refresh = std::function<void(int generation, int shard)>;
  DeferredCrlRefresh(Holds holds, Refresh refresh, std::chrono::milliseconds grace);
  ~DeferredCrlRefresh();
  DeferredCrlRefresh(const DeferredCrlRefresh&) = delete;
  DeferredCrlRefresh& operator=(const DeferredCrlRefresh&) = delete;

  void notified(int generation, int shard, std::int64_t crl_number);
  // Refreshes done so far (for tests).
  std::uint64_t refreshes() const;

 private:
  struct Pending {
    std::int64_t crl_number = 0;
    std::chrono::steady_clock::time_point due;
  };
  void run();

  const Holds holds_;
  const Refresh refresh_;
  const std::chrono::milliseconds grace_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::pair<int, int>, Pending> pending_;
  bool stopping_ = false;
  std::uint64_t refreshes_ = 0;
  std::thread thread_;
};

// "Mon, 23 Nov 2026 18:00:00 GMT".
std::string http_date(TimePoint t);

}  // namespace hostca
