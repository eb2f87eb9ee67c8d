#include "cpu.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace hostca::bench {

namespace {

double ticks_per_second() {
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return ticks;
}

// The fields of /proc/PID/stat we need. The second field (the command) may
// hold spaces and parentheses, so the rest is read after its last ')'.
struct ProcStat {
  pid_t ppid = 0;
  unsigned long long utime = 0, stime = 0, cutime = 0, cstime = 0;
};

bool read_proc_stat(pid_t pid, ProcStat& out) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return false;
  const auto close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 2));
  // Fields 3.. of proc(5): state ppid pgrp session tty_nr tpgid flags minflt
  // cminflt majflt cmajflt utime stime cutime cstime.
  std::string state;
  long long skip = 0;
  long long cutime = 0, cstime = 0;
  rest >> state >> out.ppid;
  for (int i = 0; i < 9; ++i) rest >> skip;
  rest >> out.utime >> out.stime >> cutime >> cstime;
  out.cutime = static_cast<unsigned long long>(cutime < 0 ? 0 : cutime);
  out.cstime = static_cast<unsigned long long>(cstime < 0 ? 0 : cstime);
  return static_cast<bool>(rest);
}

}  // namespace

double self_cpu_seconds() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) {
    throw std::runtime_error(std::string("getrusage: ") + std::strerror(errno));
  }
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double process_cpu_seconds(pid_t pid, bool with_children) {
  ProcStat top;
  if (!read_proc_stat(pid, top)) {
    throw std::runtime_error("process " + std::to_string(pid) + " is gone");
  }
  unsigned long long ticks = top.utime + top.stime;
  if (with_children) {
    ticks += top.cutime + top.cstime;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      ProcStat child;
      // A child may exit between the listing and the read: it is then in
      // the parent's cutime at the next reading, and skipped now.
      if (read_proc_stat(static_cast<pid_t>(std::stol(name)), child) && child.ppid == pid) {
        ticks += child.utime + child.stime;
      }
    }
  }
  return static_cast<double>(ticks) / ticks_per_second();
}

CpuSample sample_cpu(const CpuWatch& watch, Edge edge) {
  CpuSample s;
  if (edge == Edge::kEnd) s.self = self_cpu_seconds();
  for (const pid_t pid : watch.servers) s.servers += process_cpu_seconds(pid, false);
  for (const pid_t pid : watch.databases) s.databases += process_cpu_seconds(pid, true);
  if (edge == Edge::kStart) s.self = self_cpu_seconds();
  return s;
}

}  // namespace hostca::bench
