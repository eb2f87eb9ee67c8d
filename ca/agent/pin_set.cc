#include "agent/pin_set.h"

#include <algorithm>
#include <memory>

#include <botan/pem.h>
#include <botan/pk_keys.h>
#include <botan/pkix_types.h>

#include "agent/pinned_ca.h"
#include "common/error.h"
#include "pki/keys.h"

namespace hostca::agent {

namespace {

const char* const kBegin = "-----BEGIN CERTIFICATE-----";
const char* const kEnd = "-----END CERTIFICATE-----";

PinRole role_of_record(const std::string& text) {
  // Anything but "next" among the other keys is a key kept from before.
  return text == "next" ? PinRole::kNext : PinRole::kPrevious;
}

CertificateFailure ca_pem_failure(const AgentDir& dir, const std::string& why) {
  return CertificateFailure("certificate failure: " + dir.file("ca.pem") + " " + why +
                            "; check with your security team, and re-pin with 'hostca-agent "
                            "repin --fingerprint <sha256>'");
}

}  // namespace

std::string to_string(PinRole role) {
  switch (role) {
    case PinRole::kCurrent:
      return "current";
    case PinRole::kNext:
      return "next";
    case PinRole::kPrevious:
      return "previous";
  }
  return "previous";
}

PinnedCa pinned_ca(PinRole role, const Botan::X509_Certificate& certificate) {
  return PinnedCa{role, certificate, certificate_fingerprint(certificate),
                  spki_fingerprint(certificate)};
}

std::vector<Botan::X509_Certificate> parse_certificate_bundle(const std::string& pem,
                                                              const std::string& what) {
  std::vector<Botan::X509_Certificate> out;
  std::size_t at = 0;
  while ((at = pem.find(kBegin, at)) != std::string::npos) {
    const std::size_t end = pem.find(kEnd, at);
    if (end == std::string::npos) throw invalid_argument(what + " ends inside a certificate");
    const std::size_t stop = end + std::string(kEnd).size();
    try {
      const auto der =
          Botan::PEM_Code::decode_check_label(pem.substr(at, stop - at), "CERTIFICATE");
      out.emplace_back(std::vector<std::uint8_t>(der.begin(), der.end()));
    } catch (const std::exception& e) {
      throw invalid_argument("certificate " + std::to_string(out.size() + 1) + " of " + what +
                             " does not parse (" + e.what() + ")");
    }
    at = stop;
  }
  return out;
}

PinSet::PinSet(std::string server, std::string tls_server_name, std::vector<PinnedCa> keys)
    : server_(std::move(server)), tls_server_name_(std::move(tls_server_name)) {
  const auto current = std::count_if(keys.begin(), keys.end(),
                                     [](const PinnedCa& k) { return k.role == PinRole::kCurrent; });
  if (current != 1) {
    throw invalid_argument("a pin set holds exactly one current CA key, not " +
                           std::to_string(current));
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    for (std::size_t j = i + 1; j < keys.size(); ++j) {
      if (keys[i].spki_sha256 == keys[j].spki_sha256) {
        throw invalid_argument("CA key " + keys[i].spki_sha256 + " is pinned twice");
      }
    }
  }
  std::stable_partition(keys.begin(), keys.end(),
                        [](const PinnedCa& k) { return k.role == PinRole::kCurrent; });
  keys_ = std::move(keys);
}

PinSet PinSet::read(const AgentDir& dir) {
  const Pin pin = dir.require_pin();
  std::vector<Botan::X509_Certificate> certificates;
  try {
    certificates = parse_certificate_bundle(dir.ca_pem(), dir.file("ca.pem"));
  } catch (const Error& e) {
    throw ca_pem_failure(dir, std::string("cannot be read (") + e.what() + ")");
  }
  std::vector<std::pair<PinRole, std::string>> wanted{{PinRole::kCurrent, pin.spki_sha256}};
  for (const auto& k : pin.other_keys) wanted.emplace_back(role_of_record(k.role), k.spki_sha256);

  std::vector<PinnedCa> keys;
  for (const auto& [role, spki] : wanted) {
    const auto it = std::find_if(certificates.begin(), certificates.end(),
                                 [&](const auto& c) { return spki_fingerprint(c) == spki; });
    if (it == certificates.end()) {
      const std::string held = certificates.empty()
                                   ? std::string("no certificate")
                                   : "CA public key " + spki_fingerprint(certificates.front()) +
                                         (certificates.size() > 1 ? " and others" : "");
      throw ca_pem_failure(dir, "holds " + held + " but " + spki + " is pinned");
    }
    keys.push_back(pinned_ca(role, *it));
  }
  // A certificate in ca.pem that pin.json does not name would be trusted by
  // every channel: refuse it as loudly as a missing one.
  for (const auto& c : certificates) {
    const std::string spki = spki_fingerprint(c);
    const auto named = std::count_if(wanted.begin(), wanted.end(),
                                     [&](const auto& w) { return w.second == spki; });
    if (named == 0)
      throw ca_pem_failure(dir, "holds CA public key " + spki + ", which is not pinned");
  }
  if (certificates.size() != keys.size()) {
    throw ca_pem_failure(dir, "holds a pinned CA key more than once");
  }
  try {
    return PinSet(pin.server, pin.tls_server_name, std::move(keys));
  } catch (const Error& e) {
    throw ca_pem_failure(dir, std::string("does not go with pin.json: ") + e.what());
  }
}

void PinSet::save(const AgentDir& dir) const { dir.save_pin(record(), ca_pem()); }

const PinnedCa* PinSet::find(const std::string& spki_sha256) const {
  const auto it = std::find_if(keys_.begin(), keys_.end(),
                               [&](const PinnedCa& k) { return k.spki_sha256 == spki_sha256; });
  return it == keys_.end() ? nullptr : &*it;
}

const PinnedCa* PinSet::issuer_of(const Botan::X509_Certificate& cert) const {
  return issuer_among(keys_, cert);
}

const PinnedCa* issuer_among(const std::vector<PinnedCa>& keys,
                             const Botan::X509_Certificate& cert) {
  for (const auto& k : keys) {
    if (!(cert.issuer_dn() == k.certificate.subject_dn())) continue;
    try {
      const std::unique_ptr<Botan::Public_Key> key(k.certificate.subject_public_key());
      if (cert.check_signature(*key)) return &k;
    } catch (const std::exception&) {
      // A key that cannot check the signature did not make it.
    }
  }
  return nullptr;
}

std::vector<std::string> PinSet::spki_fingerprints() const {
  std::vector<std::string> out;
  for (const auto& k : keys_) out.push_back(k.spki_sha256);
  return out;
}

std::string PinSet::ca_pem() const {
  std::string out;
  for (const auto& k : keys_) out += k.certificate.PEM_encode();
  return out;
}

Pin PinSet::record() const {
  Pin pin{server_, tls_server_name_, current().sha256, current().spki_sha256, {}};
  for (std::size_t i = 1; i < keys_.size(); ++i) {
    pin.other_keys.push_back(
        PinnedKeyRecord{to_string(keys_[i].role), keys_[i].sha256, keys_[i].spki_sha256});
  }
  return pin;
}

PinSet PinSet::at(std::string server, std::string tls_server_name) const {
  return PinSet(std::move(server), std::move(tls_server_name), keys_);
}

bool PinSet::same_keys_as(const PinSet& other) const {
  return std::equal(keys_.begin(), keys_.end(), other.keys_.begin(), other.keys_.end(),
                    [](const PinnedCa& a, const PinnedCa& b) {
                      return a.role == b.role && a.spki_sha256 == b.spki_sha256 &&
                             a.sha256 == b.sha256;
                    });
}

}  // namespace hostca::agent
