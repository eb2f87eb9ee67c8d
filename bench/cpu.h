// CPU time, read from the kernel: this process's own (every thread), and
// that of the processes under load (a server, a PostgreSQL cluster), so that
// every result says what one call cost the machine, not only how fast it was.
#pragma once

#include <sys/types.h>

#include <vector>

namespace hostca::bench {

// User + system CPU seconds of this process so far, every thread included
// (getrusage RUSAGE_SELF).
double self_cpu_seconds();

// User + system CPU seconds of `pid` so far, with (when `with_children`)
// every live child process's and the children it already reaped (cutime,
// cstime): a PostgreSQL postmaster and all its backends, including those
// that exited in between. Throws when `pid` is gone.
double process_cpu_seconds(pid_t pid, bool with_children);

// The processes whose CPU each result reports: servers and a database
// (the postmaster; its backends are counted through it).
struct CpuWatch {
  std::vector<pid_t> servers;
  std::vector<pid_t> databases;
  bool empty() const { return servers.empty() && databases.empty(); }
};

// One reading of everything a result reports.
struct CpuSample {
  double self = 0;
  double servers = 0;
  double databases = 0;
};
// Which end of a timed part a reading is taken at: this process's own CPU
// is read after the scan of /proc at the start and before it at the end,
// so that the scan is never counted as the load generator's.
enum class Edge { kStart, kEnd };
CpuSample sample_cpu(const CpuWatch& watch, Edge edge);

}  // namespace hostca::bench
