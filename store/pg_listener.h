// Listens for PostgreSQL notifications (LISTEN/NOTIFY) on a connection of
// its own, on a thread of its own; reconnects by itself after PostgreSQL
// restarts and says so, since notifications sent meanwhile are lost.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace hostca::store {

class PgListener {
 public:
  using OnNotification =
      std::function<void(const std::string& channel, const std::string& payload)>;
  // Called after every (re)connection: catch up on what may have been missed.
  using OnConnected = std::function<void()>;

  PgListener(std::string conninfo, std::vector<std::string> channels,
             OnNotification on_notification, OnConnected on_connected);
  ~PgListener();
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  void stop();

 private:
  void run();

  std::string conninfo_;
  std::vector<std::string> channels_;
  OnNotification on_notification_;
  OnConnected on_connected_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace hostca::store
