#include "store/pg_connection_pool.h"

#include <spdlog/spdlog.h>

#include <pqxx/except>

#include "common/error.h"

namespace hostca::store {

PgConnectionPool::PgConnectionPool(std::string conninfo, std::size_t size,
                                   std::chrono::milliseconds acquire_timeout,
                                   std::function<void(pqxx::connection&)> prepare)
    : conninfo_(std::move(conninfo)),
      size_(size),
      acquire_timeout_(acquire_timeout),
      prepare_(std::move(prepare)) {
  if (size_ == 0) throw invalid_argument("the database pool size must be at least 1");
}

PgConnectionPool::Lease::~Lease() {
  if (conn_) pool_->release(std::move(conn_), broken_);
}

PgConnectionPool::Lease PgConnectionPool::acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + acquire_timeout_;
  while (idle_.empty() && open_ >= size_) {
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= size_) {
      throw unavailable("all database connections are busy; try again");
    }
  }
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_;
  lock.unlock();
  try {
    auto conn = std::make_unique<pqxx::connection>(conninfo_);
    if (prepare_) prepare_(*conn);
    return Lease(this, std::move(conn));
  } catch (const std::exception& e) {
    {
      std::lock_guard<std::mutex> relock(mu_);
      --open_;
    }
    cv_.notify_one();
    spdlog::error("database connection failed: {}", e.what());
    throw unavailable("the database cannot be reached; the server retries on the next call");
  }
}

void PgConnectionPool::release(std::unique_ptr<pqxx::connection> conn, bool broken) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (broken || !conn->is_open()) {
      --open_;
    } else {
      idle_.push_back(std::move(conn));
    }
  }
  cv_.notify_one();
}

std::size_t PgConnectionPool::in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_ - idle_.size();
}

std::size_t PgConnectionPool::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_;
}

}  // namespace hostca::store
