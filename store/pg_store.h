// The PostgreSQL implementation of Store: a connection pool and a unit of
// work per business operation, retried on serialization failures.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "common/batcher.h"
#include "store/pg_connection_pool.h"
#include "store/store.h"

namespace hostca::store {

struct PgStoreOptions {
  std::string conninfo;
  std::size_t pool_size = 8;
  std::chrono::milliseconds acquire_timeout{5000};
  int max_attempts = 5;  // for serialization failures and deadlocks
  // Store::enrol: at most this many enrolments in one statement, and at
  // most this many such statements at once. One at a time measured best by
  // far (docs/benchmarks.md): the enrolments that wait meanwhile make the
  // next batch larger, and no two batches of a server contend.
  std::size_t enrolment_batch = 64;
  int enrolment_batches_at_once = 1;
};

class PgStore final : public Store {
 public:
  explicit PgStore(PgStoreOptions options);
  void transact(const std::function<void(Tx&)>& work) override;
  using Store::transact;
  void autocommit(const std::function<void(Tx&)>& work) override;
  using Store::autocommit;
  // The enrolments waiting when a batch starts go in it (see Batcher).
  EnrolmentResult enrol(const EnrolmentCall& call) override;
  // True if a connection can be had and answers.
  bool ping();
  const PgConnectionPool& pool() const { return pool_; }

 private:
  template <typename Unit>
  void run(const std::function<void(Tx&)>& work);

  PgStoreOptions options_;
  PgConnectionPool pool_;
  Batcher<EnrolmentCall, EnrolmentResult> enrolments_;
};

}  // namespace hostca::store
