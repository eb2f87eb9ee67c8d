#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace hostca {

namespace {
std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Error file_error(const std::string& doing, const std::string& path) {
  return failed_precondition("cannot " + doing + " " + path + ": " + std::strerror(errno));
}
}  // namespace

void write_file_atomically(const std::string& path, const std::string& content, mode_t mode) {
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) throw file_error("create a temporary file for", path);
  bool ok = fchmod(fd, mode) == 0;
  std::size_t off = 0;
  while (ok && off < content.size()) {
    const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      ok = false;
    else
      off += static_cast<std::size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    throw file_error("write", path);
  }
  const int dfd = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    fsync(dfd);
    ::close(dfd);
  }
}

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw failed_precondition("cannot read " + what + " " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw failed_precondition("cannot read " + what + " " + path + ": it is a folder, not a file");
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) {
    throw failed_precondition("cannot read " + what + " " + path + ": " + std::strerror(errno));
  }
  return s.str();
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void make_private_dir(const std::string& path, mode_t mode) {
  std::string partial;
  std::stringstream parts(path);
  std::string part;
  if (!path.empty() && path[0] == '/') partial = "/";
  while (std::getline(parts, part, '/')) {
    if (part.empty()) continue;
    partial += part;
    if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST) {
      throw file_error("create the folder", partial);
    }
    partial += "/";
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw failed_precondition(path + " is not a folder");
  }
}

}  // namespace hostca
