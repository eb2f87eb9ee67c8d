// Files written the way a CA must: whole or not at all (temporary file,
// fsync, rename), with the mode given from the first byte.
#pragma once

#include <sys/types.h>
#include <string>

namespace hostca {

// Throws Error(kFailedPrecondition) naming the path on failure.
void write_file_atomically(const std::string& path, const std::string& content, mode_t mode);
std::string read_file(const std::string& path, const std::string& what);
bool file_exists(const std::string& path);
// Creates the folder (and parents) with `mode` if missing.
void make_private_dir(const std::string& path, mode_t mode);

}  // namespace hostca
