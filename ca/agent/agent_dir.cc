#include "agent/agent_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"

namespace hostca::agent {

using json = nlohmann::json;

namespace {

// Groups of files replaced together; the last name of each is written last.
const std::vector<std::string> kIdentityGroup{"host.key", "host.pem", "host.json"};
const std::vector<std::string> kPinGroup{"ca.pem", "pin.json"};
const std::vector<std::string> kAllFiles{"host.json", "host.key", "host.pem",
                                         "crl.pem",   "pin.json", "ca.pem"};

Error file_error(const std::string& doing, const std::string& path) {
  return failed_precondition("cannot " + doing + " " + path + ": " + std::strerror(errno));
}

void sync_dir(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

DirLock& DirLock::operator=(DirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

AgentDir::AgentDir(std::string path) : path_(std::move(path)) {
  while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return;  // made on the first write
  if ((st.st_mode & 077) != 0) {
    throw failed_precondition("the agent folder " + path_ +
                              " is open to other users; run 'chmod 700 " + path_ + "'");
  }
}

std::optional<DirLock> AgentDir::try_lock() const {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return DirLock();
    throw file_error("open the agent folder", path_);
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int saved = errno;
    ::close(fd);
    if (saved == EWOULDBLOCK) return std::nullopt;
    errno = saved;
    throw file_error("lock the agent folder", path_);
  }
  return DirLock(fd);
}

void AgentDir::commit(const std::vector<std::string>& group) const {
  for (const auto& name : group) {
    const std::string staged = file(name + ".new");
    if (!file_exists(staged)) continue;  // renamed before an interruption
    if (std::rename(staged.c_str(), file(name).c_str()) != 0) throw file_error("rename", staged);
  }
  sync_dir(path_);
}

void AgentDir::replace_together(const std::vector<NewFile>& files) const {
  make_private_dir(path_, 0700);
  // A group left half-written by an earlier crash must not be completed
  // with some of our files: start from a clean slate.
  std::vector<std::string> group;
  for (const auto& f : files) {
    ::unlink(file(f.name + ".new").c_str());
    group.push_back(f.name);
  }
  for (const auto& f : files) write_file_atomically(file(f.name + ".new"), f.content, f.mode);
  commit(group);
}

void AgentDir::finish_interrupted_writes() const {
  for (const auto* group : {&kIdentityGroup, &kPinGroup}) {
    if (file_exists(file(group->back() + ".new"))) {
      commit(*group);  // every file was written: finish the replacement
    } else {
      for (const auto& name : *group) ::unlink(file(name + ".new").c_str());
    }
  }
  // Temporary files of write_file_atomically that a crash left behind.
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path_.c_str()), ::closedir);
  if (!dir) return;
  std::vector<std::string> stale;
  while (const dirent* entry = ::readdir(dir.get())) {
    const std::string name = entry->d_name;
    for (const auto& known : kAllFiles) {
      if (starts_with(name, known + ".tmp.") || starts_with(name, known + ".new.tmp.")) {
        stale.push_back(name);
      }
    }
  }
  for (const auto& name : stale) ::unlink(file(name).c_str());
}

std::optional<Pin> AgentDir::pin() const {
  if (!file_exists(file("pin.json"))) return std::nullopt;
  const json j = json::parse(read_file(file("pin.json"), "the pin"));
  Pin pin{j.value("server", ""),
          j.value("tls_server_name", ""),
          j.value("sha256_fingerprint", ""),
          j.value("spki_sha256", ""),
          {}};
  // Written by this agent from the first rollover it followed on; a folder
  // pinned by an earlier agent has none.
  if (const auto others = j.find("other_keys"); others != j.end() && others->is_array()) {
    for (const auto& k : *others) {
      pin.other_keys.push_back(PinnedKeyRecord{
          k.value("role", ""), k.value("sha256_fingerprint", ""), k.value("spki_sha256", "")});
    }
  }
  return pin;
}

Pin AgentDir::require_pin() const {
  auto p = pin();
  if (!p) {
    throw failed_precondition("no CA is pinned in " + path_ +
                              ": run 'hostca-agent get-ca --server <address> --fingerprint "
                              "<sha256>' first");
  }
  return *p;
}

std::string AgentDir::ca_pem() const { return read_file(file("ca.pem"), "the pinned CA"); }

void AgentDir::save_pin(const Pin& pin, const std::string& ca_pem) const {
  json others = json::array();
  for (const auto& k : pin.other_keys) {
    others.push_back({{"role", k.role},
                      {"sha256_fingerprint", k.sha256_fingerprint},
                      {"spki_sha256", k.spki_sha256}});
  }
  const json j{{"server", pin.server},
               {"tls_server_name", pin.tls_server_name},
               {"sha256_fingerprint", pin.sha256_fingerprint},
               {"spki_sha256", pin.spki_sha256},
               {"other_keys", others}};
  replace_together({{"ca.pem", ca_pem, 0644}, {"pin.json", j.dump(2) + "\n", 0644}});
}

std::optional<Identity> AgentDir::identity() const {
  if (!file_exists(file("host.json"))) return std::nullopt;
  const json j = json::parse(read_file(file("host.json"), "the host identity"));
  return Identity{j.value("host_id", ""), j.value("hostname", ""), j.value("serial_hex", ""),
                  j.value("not_after", "")};
}

void AgentDir::refuse_exposed_key() const {
  const std::string path = file("host.key");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;
  if ((st.st_mode & 077) != 0) {
    throw failed_precondition("the host key " + path +
                              " can be read by other users; refusing to use it (chmod 600 it, "
                              "and consider the key exposed)");
  }
}

std::string AgentDir::private_key_pem() const {
  const std::string path = file("host.key");
  if (!file_exists(path)) throw failed_precondition("no host key in " + path_);
  refuse_exposed_key();
  return read_file(path, "the host key");
}

void AgentDir::save_identity(const std::string& key_pem, const std::string& cert_pem,
                             const Identity& identity) const {
  const json j{{"host_id", identity.host_id},
               {"hostname", identity.hostname},
               {"serial_hex", identity.serial_hex},
               {"not_after", identity.not_after}};
  // host.json is written last: it marks a complete identity.
  replace_together({{"host.key", key_pem, 0600},
                    {"host.pem", cert_pem, 0644},
                    {"host.json", j.dump(2) + "\n", 0644}});
}

std::string AgentDir::certificate_pem() const {
  return read_file(file("host.pem"), "the host certificate");
}

void AgentDir::save_crl_bundle(const std::string& pem) const {
  make_private_dir(path_, 0700);
  write_file_atomically(crl_path(), pem, 0644);
}

std::optional<std::chrono::system_clock::time_point> AgentDir::crl_fetched_at() const {
  struct stat st {};
  if (::stat(crl_path().c_str(), &st) != 0) return std::nullopt;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

std::vector<std::string> AgentDir::identity_files(bool with_pin) const {
  std::vector<std::string> present;
  for (const auto& name : kAllFiles) {
    const bool pin_file = name == "pin.json" || name == "ca.pem";
    if (pin_file && !with_pin) continue;
    if (file_exists(file(name))) present.push_back(name);
  }
  return present;
}

void AgentDir::remove(const std::string& name) const {
  const std::string path = file(name);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw file_error("remove", path);
}

}  // namespace hostca::agent
