// RevocationService: what relying parties call. GetCRL reads the database,
// so it is as fresh as a CRL can be; WatchRevocations streams events and
// wakes on the notifications of every server sharing the database.
#pragma once

#include <atomic>

#include "common/change_signal.h"
#include "domain/authority.h"
#include "hostca/v1/revocation.grpc.pb.h"

namespace hostca::service {

class RevocationServiceImpl final : public v1::RevocationService::Service {
 public:
  // `changes` is notified when a revocation may have been committed.
  RevocationServiceImpl(Authority& authority, const ChangeSignal& changes)
      : authority_(authority), changes_(changes) {}

  grpc::Status GetCRL(grpc::ServerContext* context, const v1::GetCRLRequest* request,
                      v1::GetCRLResponse* response) override;
  grpc::Status WatchRevocations(grpc::ServerContext* context,
                                const v1::WatchRevocationsRequest* request,
                                grpc::ServerWriter<v1::RevocationEvent>* writer) override;

  // Ends every stream; for shutdown.
  void stop() { stopping_ = true; }

 private:
  Authority& authority_;
  const ChangeSignal& changes_;
  std::atomic<bool> stopping_{false};
};

}  // namespace hostca::service
