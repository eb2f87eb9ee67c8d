// Micro-benchmark (Google Benchmark) of the crypto of one enrolment, with
// an ECDSA P-256 CA and host key: taking the CSR apart and checking its
// signature (CertificateRequest::parse), and making and signing the host
// certificate (CertificateIssuer::issue_host_certificate), each beside
// what Botan 2 alone costs for the same (its PKCS10_Request, which checks
// the signature, and its X509_CA::make_cert). Why hostca signs and checks
// ECDSA through OpenSSL (ca/pki/openssl_signatures.h).
//
//   build/bench/hostca-issue-bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <botan/pkcs10.h>
#include <botan/pubkey.h>
#include <botan/system_rng.h>
#include <botan/x509_ca.h>
#include <botan/x509self.h>

#include "domain/ca_key.h"
#include "domain/certificate_issuer.h"
#include "domain/certificate_request.h"

namespace {

Botan::System_RNG& rng() {
  static Botan::System_RNG r;
  return r;
}

const std::shared_ptr<const Botan::Private_Key>& ca_key() {
  static const std::shared_ptr<const Botan::Private_Key> k =
      hostca::generate_key(hostca::CaKeyAlgorithm::kEcdsaP256, rng());
  return k;
}

std::shared_ptr<const hostca::SoftwareSigner> signer() {
  static const auto s = [] {
    const auto now =
        std::chrono::time_point_cast<hostca::Duration>(std::chrono::system_clock::now());
    return std::make_shared<hostca::SoftwareSigner>(
        ca_key(), hostca::make_ca_certificate(*ca_key(), {}, now, rng()), rng());
  }();
  return s;
}

const hostca::Bytes& csr() {
  static const hostca::Bytes der = [] {
    const auto key = hostca::generate_key(hostca::CaKeyAlgorithm::kEcdsaP256, rng());
    Botan::X509_Cert_Options options("host.example");
    const auto req = Botan::X509::create_cert_req(options, *key, "SHA-256", rng());
    const auto bytes = req.BER_encode();
    return hostca::Bytes(bytes.begin(), bytes.end());
  }();
  return der;
}

void BM_ParseCsr(benchmark::State& state) {
  const hostca::KeyPolicy policy;
  for (auto _ : state) {
    benchmark::DoNotOptimize(hostca::CertificateRequest::parse(csr(), policy));
  }
}
BENCHMARK(BM_ParseCsr);

void BM_ParseCsrBotanOnly(benchmark::State& state) {
  const std::vector<std::uint8_t> der(csr().begin(), csr().end());
  for (auto _ : state) {
    Botan::PKCS10_Request request(der);  // checks the signature
    benchmark::DoNotOptimize(request.raw_public_key());
  }
}
BENCHMARK(BM_ParseCsrBotanOnly);

void BM_IssueHostCertificate(benchmark::State& state) {
  hostca::CertificateIssuer issuer(hostca::CertificateProfile{}, signer(), rng());
  const auto request = hostca::CertificateRequest::parse(csr(), hostca::KeyPolicy());
  const auto host = hostca::HostName::parse("host.example");
  const auto now = std::chrono::time_point_cast<hostca::Duration>(std::chrono::system_clock::now());
  for (auto _ : state) {
    benchmark::DoNotOptimize(issuer.issue_host_certificate("0f1e2d3c-4b5a-4697-8877-665544332211",
                                                           host, {}, request, 7, now));
  }
}
BENCHMARK(BM_IssueHostCertificate);

void BM_SignCertificateBotanOnly(benchmark::State& state) {
  const auto request = hostca::CertificateRequest::parse(csr(), hostca::KeyPolicy());
  const auto& ca = signer()->ca_certificate();
  const auto now = std::chrono::system_clock::now();
  Botan::X509_DN subject;
  subject.add_attribute("X520.CommonName", "0f1e2d3c-4b5a-4697-8877-665544332211");
  for (auto _ : state) {
    Botan::AlgorithmIdentifier algorithm;
    std::unique_ptr<Botan::PK_Signer> s(
        Botan::choose_sig_format(*ca_key(), rng(), "SHA-256", algorithm));
    benchmark::DoNotOptimize(Botan::X509_CA::make_cert(
        s.get(), rng(), Botan::BigInt(12345), algorithm, request.spki(), Botan::X509_Time(now),
        Botan::X509_Time(now + std::chrono::hours(24)), ca.subject_dn(), subject,
        Botan::Extensions()));
  }
}
BENCHMARK(BM_SignCertificateBotanOnly);

}  // namespace

BENCHMARK_MAIN();
