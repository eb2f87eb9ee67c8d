// What a server announces about its CA keys (GetCACertificate: the active CA
// and every key hosts should trust, with their links), and how a host follows
// a planned rollover from it: a key is pinned only through a newWithOld link
// signed by a key the host pins already; the server's active key, once
// pinned, becomes the current one; a key the server no longer announces and
// that no certificate of this host comes from is let go. No network, no
// files: the time is given.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <botan/x509cert.h>

#include "agent/pin_set.h"
#include "hostca/v1/host.pb.h"

namespace hostca::agent {

// A CA certificate as a server presented it, with the fingerprints computed
// here (never taken from the server).
struct PresentedCa {
  Botan::X509_Certificate certificate;
  std::string der;
  std::string sha256;       // of the DER certificate
  std::string spki_sha256;  // of its SubjectPublicKeyInfo
};

// One CaKey of the announcement, parsed.
struct AnnouncedKey {
  unsigned generation = 0;
  std::string state;  // "next", "active" or "retiring", as the server says
  Botan::X509_Certificate certificate;
  std::string spki_sha256;                              // computed here
  std::optional<Botan::X509_Certificate> new_with_old;  // absent: no link
};

struct CaAnnouncement {
  PresentedCa active;              // the top-level certificate: the key that issues now
  std::vector<AnnouncedKey> keys;  // by generation
  // Keys whose certificate or link does not parse, one line each; they
  // are treated as not announced.
  std::vector<std::string> unreadable;
};

// Throws CertificateFailure naming `server` if the active CA certificate
// is not a certificate.
CaAnnouncement parse_announcement(const hostca::v1::GetCACertificateResponse& response,
                                  const std::string& server);

struct PinUpdate {
  PinSet pins;                 // the set to keep; the one given if nothing moved
  PresentedCa active;          // the server's active CA, as announced
  bool changed = false;        // keys or roles differ from the set given
  bool active_pinned = false;  // the server's active key is pinned (as current)
  // When it is not: why the announced key could not be pinned.
  std::string active_refusal;
  // What happened, one line each for the log: a key pinned, made current,
  // let go.
  std::vector<std::string> events;
  // Announced keys not pinned, one line each: which, and why not.
  std::vector<std::string> refusals;
};

// Why `key` may not be pinned by a host that pins `pins` at `now`; empty
// when it may: its certificate is a self-signed CA certificate within its
// validity, and its newWithOld link passes link_refusal.
std::string pin_refusal(const std::vector<PinnedCa>& pins, const AnnouncedKey& key,
                        std::chrono::system_clock::time_point now);

// The pin set after `announced`. `host_certificates` are this host's
// certificates; nullopt when they could not be read, and then no key is let
// go. A rogue announced key (no link, or one not signed by a pinned key) is
// never pinned: it is an event, not a failure; only `active_pinned` false is.
// A key that is retiring and not pinned is no concern of this host and is
// left alone without a word.
PinUpdate follow_announcement(
    const PinSet& pins, const CaAnnouncement& announced,
    const std::optional<std::vector<Botan::X509_Certificate>>& host_certificates,
    std::chrono::system_clock::time_point now);

}  // namespace hostca::agent
