#include "store/pg_listener.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <pqxx/pqxx>

namespace hostca::store {

namespace {
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const std::string& channel,
           const PgListener::OnNotification& callback)
      : pqxx::notification_receiver(conn, channel), callback_(callback) {}
  void operator()(const std::string& payload, int) override { callback_(channel(), payload); }

 private:
  const PgListener::OnNotification& callback_;
};
}  // namespace

PgListener::PgListener(std::string conninfo, std::vector<std::string> channels,
                       OnNotification on_notification, OnConnected on_connected)
    : conninfo_(std::move(conninfo)),
      channels_(std::move(channels)),
      on_notification_(std::move(on_notification)),
      on_connected_(std::move(on_connected)),
      thread_([this] { run(); }) {}

PgListener::~PgListener() { stop(); }

void PgListener::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void PgListener::run() {
  auto backoff = std::chrono::milliseconds(100);
  bool lost = false;
  while (!stopping_) {
    try {
      pqxx::connection conn(conninfo_);
      std::vector<std::unique_ptr<Receiver>> receivers;
      for (const auto& channel : channels_) {
        receivers.push_back(std::make_unique<Receiver>(conn, channel, on_notification_));
      }
      conn.get_notifs();  // LISTEN is sent now
      if (lost) spdlog::info("notification listener reconnected to the database");
      backoff = std::chrono::milliseconds(100);
      if (on_connected_) on_connected_();
      while (!stopping_) conn.await_notification(0, 200000);
    } catch (const std::exception& e) {
      if (!lost) spdlog::warn("notification listener lost the database: {}", e.what());
      lost = true;
      const auto until = std::chrono::steady_clock::now() + backoff;
      while (!stopping_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }
}

}  // namespace hostca::store
