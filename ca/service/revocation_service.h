// RevocationService: what relying parties call. GetCRL reads the database,
// so it is as fresh as a CRL can be; WatchRevocations streams events from
// the server's one RevocationFeed (which wakes on the notifications of every
// server sharing the database), at most `max_streams` at once.
#pragma once

#include <atomic>

#include "domain/authority.h"
#include "hostca/v1/revocation.grpc.pb.h"
#include "service/revocation_feed.h"

namespace hostca::service {

class RevocationServiceImpl final : public v1::RevocationService::Service {
 public:
  RevocationServiceImpl(Authority& authority, const RevocationFeed& feed, int max_streams)
      : authority_(authority), feed_(feed), max_streams_(max_streams) {}

  grpc::Status GetCRL(grpc::ServerContext* context, const v1::GetCRLRequest* request,
                      v1::GetCRLResponse* response) override;
  grpc::Status WatchRevocations(grpc::ServerContext* context,
                                const v1::WatchRevocationsRequest* request,
                                grpc::ServerWriter<v1::RevocationEvent>* writer) override;

  // Ends every stream; for shutdown.
  void stop() { stopping_ = true; }

 private:
  Authority& authority_;
  const RevocationFeed& feed_;
  const int max_streams_;
  std::atomic<int> streams_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace hostca::service
