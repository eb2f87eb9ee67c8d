// The PostgreSQL implementation of Store: a connection pool and a unit of
// work per business operation, retried on serialization failures.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "store/pg_connection_pool.h"
#include "store/store.h"

namespace hostca::store {

struct PgStoreOptions {
  std::string conninfo;
  std::size_t pool_size = 8;
  std::chrono::milliseconds acquire_timeout{5000};
  int max_attempts = 5;  // for serialization failures and deadlocks
};

class PgStore final : public Store {
 public:
  explicit PgStore(PgStoreOptions options);
  void transact(const std::function<void(Tx&)>& work) override;
  using Store::transact;
  void autocommit(const std::function<void(Tx&)>& work) override;
  using Store::autocommit;
  // True if a connection can be had and answers.
  bool ping();
  const PgConnectionPool& pool() const { return pool_; }

 private:
  template <typename Unit>
  void run(const std::function<void(Tx&)>& work);

  PgStoreOptions options_;
  PgConnectionPool pool_;
};

}  // namespace hostca::store
