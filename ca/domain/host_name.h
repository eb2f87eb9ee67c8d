// A DNS name, checked once and kept in the form names are compared in:
// lower case, without a trailing dot, RFC 1123 labels, at most 253
// characters. Used as a certificate's dNSName, so nothing else gets in: no
// wildcard, no IP address written as a name. (Which names a host may hold on
// top of that is NamePolicy's business.)
#pragma once

#include <string>
#include <vector>

namespace hostca {

class HostName {
 public:
  // Throws Error(kInvalidArgument) saying what is wrong with `text`.
  static HostName parse(const std::string& text, const std::string& what = "host name");
  const std::string& str() const { return name_; }
  bool operator==(const HostName& o) const { return name_ == o.name_; }

 private:
  explicit HostName(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

// A host's aliases: each a HostName, at most kMaxAliases, no duplicates and
// none equal to the host name itself.
std::vector<HostName> parse_aliases(const std::vector<std::string>& aliases,
                                    const HostName& hostname);

constexpr std::size_t kMaxAliases = 32;

}  // namespace hostca
