// Publishes the CRL of one shard inside a unit of work: takes the shard's
// row lock (which orders publication across servers), numbers the CRL one
// above the last, lists every revocation committed so far, signs and saves.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "domain/certificate_profile.h"
#include "domain/crl_builder.h"
#include "store/store.h"

namespace hostca {

struct CrlPolicy {
  Duration validity = std::chrono::hours(24);          // nextUpdate - thisUpdate
  Duration republish_before = std::chrono::hours(12);  // republish once nextUpdate is this close

  // Throws Error(kInvalidArgument) naming the bad setting.
  void validate() const;
};

struct PublishedCrl {
  int ca_generation = 1;  // the CA key that signed it
  int shard = 0;
  std::int64_t crl_number = 0;
  TimePoint this_update;
  TimePoint next_update;
  std::size_t entries = 0;
  Bytes der;  // the signed CRL, so a cache can take it without reading it back
  // How long locking, reading, signing and saving took (a monotonic
  // measurement for metrics, not a business time).
  std::chrono::nanoseconds elapsed{0};
};

class CrlPublisher {
 public:
  // Publishes the CRLs of the CA key `ca_generation`, which `signer` holds.
  CrlPublisher(std::shared_ptr<const Signer> signer, CertificateProfile profile, int shard_count,
               CrlPolicy policy, int ca_generation = 1);

  PublishedCrl publish(store::CrlTx& tx, int shard, TimePoint now) const;
  // Several shards of this key at once (a batch of reissues), in the order
  // given, which must be ascending: the lock order of every publication.
  std::vector<PublishedCrl> publish_many(store::CrlTx& tx, const std::vector<int>& shards,
                                         TimePoint now) const;

  int shard_count() const { return shard_count_; }
  int ca_generation() const { return ca_generation_; }
  const CrlPolicy& policy() const { return policy_; }

 private:
  PublishedCrl build_and_save(store::CrlTx& tx, int shard, const store::CrlShardRow& previous,
                              const std::vector<store::CrlEntryRow>& entries, TimePoint now) const;

  CrlBuilder builder_;
  CertificateProfile profile_;
  int shard_count_;
  CrlPolicy policy_;
  int ca_generation_;
};

}  // namespace hostca
