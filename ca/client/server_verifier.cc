#include "client/server_verifier.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>

#include <botan/data_src.h>
#include <botan/x509cert.h>

#include "pki/server_marker.h"

namespace hostca::client {

namespace {

std::mutex refusal_mu;
std::string& refusal() {
  static std::string text;
  return text;
}

std::string lowered(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool names(const std::vector<grpc::string_ref>& have, const std::string& want) {
  return std::any_of(have.begin(), have.end(), [&](const grpc::string_ref& n) {
    return lowered(std::string(n.data(), n.size())) == want;
  });
}

class ServerCertificateVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit ServerCertificateVerifier(std::string expected_name)
      : expected_name_(lowered(std::move(expected_name))) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)>, grpc::Status* sync_status) override {
    const std::string why = refusal_of(*request);
    if (why.empty()) {
      *sync_status = grpc::Status::OK;
    } else {
      {
        std::lock_guard<std::mutex> lock(refusal_mu);
        refusal() = why;
      }
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, why);
    }
    return true;
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

 private:
  std::string refusal_of(const grpc::experimental::TlsCustomVerificationCheckRequest& r) const {
    const grpc::string_ref pem = r.peer_cert();
    std::optional<Botan::X509_Certificate> cert;
    try {
      Botan::DataSource_Memory source(std::string(pem.data(), pem.size()));
      cert.emplace(source);
    } catch (const std::exception&) {
      return "the server presented no certificate that can be read";
    }
    if (!is_server_certificate(*cert)) {
      return "the server presented a certificate that is not a hostca server certificate (its "
             "subject lacks O=" +
             std::string(kServerCertificateMarker) + ": a host certificate, or another CA's)";
    }
    if (!expected_name_.empty() && !names(r.dns_names(), expected_name_) &&
        !names(r.ip_names(), expected_name_)) {
      return "the server's certificate does not name " + expected_name_;
    }
    return {};
  }

  const std::string expected_name_;
};

}  // namespace

std::shared_ptr<grpc::experimental::CertificateVerifier> server_certificate_verifier(
    std::string expected_name) {
  return grpc::experimental::ExternalCertificateVerifier::Create<ServerCertificateVerifier>(
      std::move(expected_name));
}

std::string last_server_refusal() {
  std::lock_guard<std::mutex> lock(refusal_mu);
  return refusal();
}

void clear_server_refusal() {
  std::lock_guard<std::mutex> lock(refusal_mu);
  refusal().clear();
}

}  // namespace hostca::client
