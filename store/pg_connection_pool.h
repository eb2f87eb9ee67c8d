// A bounded pool of PostgreSQL connections. A connection that broke is
// dropped and a new one made on the next acquire, so the server reconnects
// on its own after PostgreSQL restarts.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <pqxx/connection>

namespace hostca::store {

class PgConnectionPool {
 public:
  // prepare is run on every new connection (to register prepared statements).
  PgConnectionPool(std::string conninfo, std::size_t size,
                   std::chrono::milliseconds acquire_timeout,
                   std::function<void(pqxx::connection&)> prepare);
  PgConnectionPool(const PgConnectionPool&) = delete;
  PgConnectionPool& operator=(const PgConnectionPool&) = delete;

  // A connection on loan; returns it to the pool when destroyed unless it
  // was marked broken.
  class Lease {
   public:
    Lease(PgConnectionPool* pool, std::unique_ptr<pqxx::connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    pqxx::connection& operator*() { return *conn_; }
    void mark_broken() { broken_ = true; }

   private:
    PgConnectionPool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
    bool broken_ = false;
  };

  // Throws Error(kUnavailable) when no connection can be had in time.
  Lease acquire();

  std::size_t size() const { return size_; }
  std::size_t in_use() const;
  std::size_t open() const;  // idle plus leased

 private:
  void release(std::unique_ptr<pqxx::connection> conn, bool broken);

  const std::string conninfo_;
  const std::size_t size_;
  const std::chrono::milliseconds acquire_timeout_;
  const std::function<void(pqxx::connection&)> prepare_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::size_t open_ = 0;  // idle plus leased
};

}  // namespace hostca::store
