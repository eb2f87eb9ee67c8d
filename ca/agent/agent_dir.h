// The agent's state folder (--dir, 0700): the pinned CA (ca.pem, pin.json),
// the host's identity (host.key 0600, host.pem, host.json) and the last CRLs
// fetched (crl.pem). Files that belong together are replaced together: each
// is written whole as "<name>.new" (temporary file and rename), the last of a
// group marks it complete, and only then are they renamed into place; an
// interrupted replacement is finished or undone by the next command.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace hostca::agent {

// A pinned CA key besides the current one, as pin.json records it.
struct PinnedKeyRecord {
  std::string role;                // "next" or "previous" (see agent/pin_set.h)
  std::string sha256_fingerprint;  // of its CA certificate (DER)
  std::string spki_sha256;         // of its public key
};

// pin.json. The fields of the current key are where earlier agents wrote
// their single pin, so a folder they pinned reads as a set of one key, and
// an earlier agent still finds the current key in a folder pinned here.
struct Pin {
  std::string server;                         // host:port the CA was fetched from
  std::string tls_server_name;                // expected server name, if not the host part
  std::string sha256_fingerprint;             // of the current CA certificate (DER)
  std::string spki_sha256;                    // of the current CA public key
  std::vector<PinnedKeyRecord> other_keys{};  // learnt from a rollover; absent before
};

struct Identity {
  std::string host_id;
  std::string hostname;
  std::string serial_hex;
  std::string not_after;  // RFC 3339
};

// An advisory lock on the folder (flock on the folder itself, so no lock
// file): one agent command at a time changes it. Released on destruction.
class DirLock {
 public:
  DirLock() = default;
  explicit DirLock(int fd) : fd_(fd) {}
  DirLock(DirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DirLock& operator=(DirLock&& other) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();

 private:
  int fd_ = -1;
};

class AgentDir {
 public:
  // Refuses a folder that others may enter; a missing one is made (0700)
  // on the first write, so a refused command leaves nothing behind.
  explicit AgentDir(std::string path);

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  // Takes the folder's lock without waiting; nullopt if another agent
  // command holds it. A folder that does not exist yet needs no lock.
  std::optional<DirLock> try_lock() const;
  // Under the lock: completes a replacement that was interrupted after its
  // last file was written, undoes one that was not, and removes temporary
  // files left by a crash.
  void finish_interrupted_writes() const;

  std::optional<Pin> pin() const;
  // Throws Error(kFailedPrecondition) telling the user to run get-ca.
  Pin require_pin() const;
  // ca.pem: the pinned CA certificates, the current one first.
  std::string ca_pem() const;
  // Replaces ca.pem and pin.json together.
  void save_pin(const Pin& pin, const std::string& ca_pem) const;

  std::optional<Identity> identity() const;
  // Throws Error(kFailedPrecondition) if host.key exists and group or others
  // may read it.
  void refuse_exposed_key() const;
  // Refuses a key file that group or others can read.
  std::string private_key_pem() const;
  // Replaces host.key, host.pem and host.json together (host.json last).
  void save_identity(const std::string& key_pem, const std::string& cert_pem,
                     const Identity& identity) const;
  std::string certificate_pem() const;

  // Where fetch-crl keeps the CRLs by default: one PEM bundle, 0644.
  std::string crl_path() const { return file("crl.pem"); }
  void save_crl_bundle(const std::string& pem) const;
  // When crl.pem was written, if it exists.
  std::optional<std::chrono::system_clock::time_point> crl_fetched_at() const;

  // The files of the host's identity (and, with `with_pin`, of the pin) that
  // exist, in the order reset removes them: host.json first, so a half-done
  // reset never looks like a complete identity.
  std::vector<std::string> identity_files(bool with_pin) const;
  // Removes one file of the folder; throws Error(kFailedPrecondition) on failure.
  void remove(const std::string& name) const;

 private:
  struct NewFile {
    std::string name;
    std::string content;
    mode_t mode;
  };
  void replace_together(const std::vector<NewFile>& files) const;
  void commit(const std::vector<std::string>& group) const;

  std::string path_;
};

}  // namespace hostca::agent
