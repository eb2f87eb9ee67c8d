// Which DNS names a host may hold, as data: names that are never a host's
// (localhost and its subdomains), the CA's allowed suffixes from
// configuration, and an authorization token's own patterns. Syntax, IP
// literals and wildcards are HostName's; who holds a name is the register of
// names in the store (and the CA server's own names are held there too).
#pragma once

#include <string>
#include <vector>

#include "domain/host_name.h"

namespace hostca {

// One name an authorization token allows: exactly "db01.example.com", or
// "*.lab.example.com" for every name under lab.example.com (at any depth,
// not lab.example.com itself).
class NamePattern {
 public:
  // Throws Error(kInvalidArgument) saying what is wrong with `text`.
  static NamePattern parse(const std::string& text);
  bool matches(const HostName& name) const;
  // As written back: "db01.example.com" or "*.lab.example.com".
  std::string str() const { return wildcard_ ? "*." + base_.str() : base_.str(); }
  const HostName& base() const { return base_; }
  bool wildcard() const { return wildcard_; }

 private:
  NamePattern(HostName base, bool wildcard) : base_(std::move(base)), wildcard_(wildcard) {}
  HostName base_;
  bool wildcard_;
};

struct NamePolicy {
  // A host name or alias must be one of these or lie under one of them
  // ("example.com" allows example.com and every name under it). Empty:
  // any name that passes the rest of the checks.
  std::vector<std::string> allowed_suffixes;

  // Throws Error(kInvalidArgument) naming the bad suffix.
  void validate() const;
  // Throws Error(kInvalidArgument) naming the rule `name` breaks: a reserved
  // name, outside the allowed suffixes, or (when the token has patterns)
  // outside the token's. `what` is "host name" or "alias".
  void check(const HostName& name, const std::string& what,
             const std::vector<NamePattern>& token_patterns = {}) const;
  // A token's patterns, each checked, none outside this policy; throws
  // Error(kInvalidArgument) naming the bad one.
  std::vector<NamePattern> parse_patterns(const std::vector<std::string>& texts) const;
  bool within_suffixes(const HostName& name) const;
};

// localhost and *.localhost (RFC 6761 6.3): never a host's.
bool is_reserved_name(const HostName& name);

// Patterns as stored with a token (already checked when it was made).
std::vector<NamePattern> stored_patterns(const std::vector<std::string>& texts);

}  // namespace hostca
