// One reader of the revocation stream per server. It wakes on the
// database's notifications (and once a second regardless, in case one was
// lost), reads what is new once (at most once per 10 ms while events keep
// coming), and keeps the newest events in memory:
// every WatchRevocations stream takes its events from here, so a thousand
// idle subscribers cost the database nothing more than one. A stream that
// resumes from before what memory holds reads the database until it has
// caught up.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/change_signal.h"
#include "domain/authority.h"

namespace hostca::service {

class RevocationFeed {
 public:
  // `notifications` is notified when a revocation may have been committed.
  RevocationFeed(Authority& authority, const ChangeSignal& notifications, std::size_t keep = 10000);
  ~RevocationFeed();
  RevocationFeed(const RevocationFeed&) = delete;
  RevocationFeed& operator=(const RevocationFeed&) = delete;

  // Reads the stream's head and starts the reader thread; throws Error if
  // the database cannot be read.
  void start();
  void stop();

  // Events after `cursor`, oldest first, at most `limit`; nullopt when
  // `cursor` lies before what memory holds.
  std::optional<std::vector<store::RevocationEventRow>> after(std::int64_t cursor,
                                                              std::size_t limit) const;
  // The position "from now": every event after it is still to come.
  std::int64_t head() const;
  // Every event at or before it is settled and, if it is newer than the
  // memory, was read by the feed.
  std::int64_t floor() const;

  std::uint64_t generation() const { return changed_.generation(); }
  void wait(std::uint64_t seen, std::chrono::milliseconds timeout) const {
    changed_.wait(seen, timeout);
  }
  // Database reads of the stream so far, by this feed (for tests and metrics).
  std::uint64_t reads() const { return reads_; }

 private:
  void run();
  bool read_new();

  Authority& authority_;
  const ChangeSignal& notifications_;
  const std::size_t keep_;
  mutable std::mutex mu_;
  std::deque<store::RevocationEventRow> events_;  // (floor_, cursor_], oldest first
  std::int64_t floor_ = 0;
  std::int64_t cursor_ = 0;
  ChangeSignal changed_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> reads_{0};
  std::thread thread_;
};

}  // namespace hostca::service
