#include "agent/ca_announcement.h"

#include <algorithm>
#include <memory>

#include <botan/pk_keys.h>

#include "agent/pinned_ca.h"
#include "pki/ca_link_check.h"
#include "pki/keys.h"

namespace hostca::agent {

namespace {

Botan::X509_Certificate parse_der(const std::string& der) {
  return Botan::X509_Certificate(std::vector<std::uint8_t>(der.begin(), der.end()));
}

std::string key_words(const AnnouncedKey& key) {
  return "CA key " + key.spki_sha256 + " (generation " + std::to_string(key.generation) +
         ", announced as " + (key.state.empty() ? std::string("?") : key.state) + ")";
}

bool self_signed(const Botan::X509_Certificate& cert) {
  try {
    const std::unique_ptr<Botan::Public_Key> key(cert.subject_public_key());
    return cert.is_self_signed() && cert.check_signature(*key);
  } catch (const std::exception&) {
    return false;
  }
}

bool within_validity(const Botan::X509_Certificate& cert,
                     std::chrono::system_clock::time_point now) {
  return now >= cert.not_before().to_std_timepoint() && now < cert.not_after().to_std_timepoint();
}

}  // namespace

CaAnnouncement parse_announcement(const hostca::v1::GetCACertificateResponse& response,
                                  const std::string& server) {
  CaAnnouncement out{};
  const std::string& der = response.certificate_der();
  try {
    const Botan::X509_Certificate cert = parse_der(der);
    out.active = {cert, der, certificate_fingerprint(cert), spki_fingerprint(cert)};
  } catch (const std::exception&) {
    throw CertificateFailure("certificate failure: the server at " + server +
                             " sent something that is not a certificate as its CA");
  }
  for (const auto& k : response.ca_keys()) {
    AnnouncedKey key;
    key.generation = k.generation();
    key.state = k.state();
    try {
      key.certificate = parse_der(k.certificate_der());
      key.spki_sha256 = spki_fingerprint(key.certificate);
    } catch (const std::exception&) {
      out.unreadable.push_back("CA key of generation " + std::to_string(k.generation()) +
                               ": its certificate does not parse");
      continue;
    }
    if (!k.new_with_old_der().empty()) {
      try {
        key.new_with_old = parse_der(k.new_with_old_der());
      } catch (const std::exception&) {
        out.unreadable.push_back(key_words(key) + ": its newWithOld link does not parse");
        continue;
      }
    }
    out.keys.push_back(std::move(key));
  }
  // Oldest first, so that a key linked from one announced with it is
  // reached after that one.
  std::stable_sort(out.keys.begin(), out.keys.end(),
                   [](const auto& a, const auto& b) { return a.generation < b.generation; });
  return out;
}

std::string pin_refusal(const std::vector<PinnedCa>& pins, const AnnouncedKey& key,
                        std::chrono::system_clock::time_point now) {
  if (!key.new_with_old) {
    return "it is announced without a link from another key (as after an emergency rollover)";
  }
  if (!key.certificate.is_CA_cert() || !self_signed(key.certificate)) {
    return "its certificate is not a self-signed CA certificate";
  }
  if (!within_validity(key.certificate, now)) {
    return "its certificate is outside its validity (" +
           key.certificate.not_before().readable_string() + " to " +
           key.certificate.not_after().readable_string() + ")";
  }
  std::vector<Botan::X509_Certificate> pinned;
  for (const auto& p : pins) pinned.push_back(p.certificate);
  return link_refusal(pinned, key.certificate, *key.new_with_old, now);
}

PinUpdate follow_announcement(
    const PinSet& pins, const CaAnnouncement& announced,
    const std::optional<std::vector<Botan::X509_Certificate>>& host_certificates,
    std::chrono::system_clock::time_point now) {
  PinUpdate out{pins, announced.active, false, false, {}, {}, {}};
  std::vector<PinnedCa> keys = pins.keys();
  const auto pinned = [&](const std::string& spki) {
    return std::find_if(keys.begin(), keys.end(),
                        [&](const PinnedCa& k) { return k.spki_sha256 == spki; });
  };
  const std::string& active = announced.active.spki_sha256;

  for (const auto& line : announced.unreadable) {
    out.refusals.push_back("did not pin " + line + "; keeping the pinned keys");
  }

  // Learn: every announced key not pinned yet, through its link only.
  bool active_announced = false;
  for (const auto& key : announced.keys) {
    const bool is_active = key.spki_sha256 == active;
    active_announced = active_announced || is_active;
    if (pinned(key.spki_sha256) != keys.end()) continue;
    if (!is_active && key.state == "retiring") continue;
    const std::string why = pin_refusal(keys, key, now);
    if (!why.empty()) {
      if (is_active) {
        out.active_refusal = why;
      } else {
        out.refusals.push_back("did not pin " + key_words(key) + ": " + why +
                               "; keeping the pinned keys");
      }
      continue;
    }
    // Named before the set grows, which moves its keys.
    const PinnedCa* signer = issuer_among(keys, *key.new_with_old);
    const std::string vouching = signer != nullptr ? signer->spki_sha256 : std::string("?");
    keys.push_back(pinned_ca(PinRole::kNext, key.certificate));
    out.events.push_back("pinned " + key_words(key) +
                         " as next: its link is signed by pinned key " + vouching);
  }
  if (!active_announced && pinned(active) == keys.end()) {
    out.active_refusal = "the server announces no link for it";
  }

  // Activate: the server's active key, once pinned, is the current one.
  const auto now_active = pinned(active);
  if (now_active != keys.end() && now_active->role != PinRole::kCurrent) {
    std::string former;
    for (auto& k : keys) {
      if (k.role != PinRole::kCurrent) continue;
      k.role = PinRole::kPrevious;
      former = k.spki_sha256;
    }
    now_active->role = PinRole::kCurrent;
    out.events.push_back("CA key " + active +
                         " is now the current key (the server issues with it); " + former +
                         " stays pinned as previous");
  }

  // Let go: a key the server no longer announces, once this host holds no
  // certificate from it. A server that announces no keys at all says
  // nothing about them, and a host that cannot read its certificate keeps
  // every key.
  if (!announced.keys.empty() && host_certificates && pinned(active) != keys.end()) {
    const auto still_announced = [&](const std::string& spki) {
      return spki == active ||
             std::any_of(announced.keys.begin(), announced.keys.end(),
                         [&](const AnnouncedKey& k) { return k.spki_sha256 == spki; });
    };
    const auto needed = [&](const PinnedCa& key) {
      return std::any_of(host_certificates->begin(), host_certificates->end(),
                         [&](const auto& cert) { return issuer_among({key}, cert) != nullptr; });
    };
    for (auto it = keys.begin(); it != keys.end();) {
      if (it->role == PinRole::kCurrent || still_announced(it->spki_sha256) || needed(*it)) {
        ++it;
        continue;
      }
      out.events.push_back("unpinned CA key " + it->spki_sha256 + " (" + to_string(it->role) +
                           "): the server no longer announces it and no certificate of this "
                           "host is from it");
      it = keys.erase(it);
    }
  }

  out.active_pinned = pinned(active) != keys.end();
  if (out.active_pinned) out.active_refusal.clear();
  PinSet next(pins.server(), pins.tls_server_name(), std::move(keys));
  out.changed = !next.same_keys_as(pins);
  out.pins = std::move(next);
  return out;
}

}  // namespace hostca::agent
