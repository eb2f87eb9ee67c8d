#include "domain/host_name.h"

#include <algorithm>
#include <cctype>

#include "common/error.h"

namespace hostca {

namespace {
std::string printable(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 64)) {
    out.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : '?');
  }
  if (text.size() > 64) out += "...";
  return out;
}
}  // namespace

namespace {
bool all_digits(const std::string& label) {
  return !label.empty() && std::all_of(label.begin(), label.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}
}  // namespace

HostName HostName::parse(const std::string& text, const std::string& what) {
  if (text.empty()) throw invalid_argument(what + " is empty: give the host's DNS name");
  // "example.com." and "example.com" are one name; the form without the dot
  // is the one certificates carry and names are compared in.
  const std::string bare =
      text.size() > 1 && text.back() == '.' ? text.substr(0, text.size() - 1) : text;
  if (bare.size() > 253) {
    throw invalid_argument(what + " is " + std::to_string(text.size()) +
                           " characters long; a DNS name has at most 253");
  }
  if (bare.find('*') != std::string::npos) {
    throw invalid_argument(what + " '" + printable(text) +
                           "' is a wildcard; certificates name hosts one by one");
  }
  if (bare.find(':') != std::string::npos || bare.front() == '[') {
    throw invalid_argument(what + " '" + printable(text) +
                           "' is an IP address; certificates name hosts by DNS names only");
  }
  std::string name;
  name.reserve(bare.size());
  for (char c : bare)
    name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  std::size_t start = 0;
  std::string last;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::size_t end = dot == std::string::npos ? name.size() : dot;
    const std::string label = name.substr(start, end - start);
    if (label.empty()) {
      throw invalid_argument(what + " '" + printable(text) +
                             "' has an empty label (a leading or double dot)");
    }
    if (label.size() > 63) {
      throw invalid_argument(what + " '" + printable(text) +
                             "' has a label longer than 63 characters");
    }
    for (char c : label) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) {
        throw invalid_argument(what + " '" + printable(text) +
                               "' may hold only letters, digits, '-' and '.'");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      throw invalid_argument(what + " '" + printable(text) +
                             "' has a label that starts or ends with '-'");
    }
    last = label;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  // No top-level domain is all digits (RFC 3696 2): a name that ends in one
  // is an IPv4 address in one of its spellings (10.0.0.5, 127.1, 2130706433).
  if (all_digits(last)) {
    throw invalid_argument(what + " '" + printable(text) +
                           "' is an IP address; certificates name hosts by DNS names only");
  }
  return HostName(std::move(name));
}

std::vector<HostName> parse_aliases(const std::vector<std::string>& aliases,
                                    const HostName& hostname) {
  if (aliases.size() > kMaxAliases) {
    throw invalid_argument("too many aliases (" + std::to_string(aliases.size()) + "); at most " +
                           std::to_string(kMaxAliases));
  }
  std::vector<HostName> out;
  for (const auto& a : aliases) {
    HostName alias = HostName::parse(a, "alias");
    if (alias == hostname) {
      throw invalid_argument("alias '" + alias.str() + "' repeats the host name");
    }
    if (std::find(out.begin(), out.end(), alias) != out.end()) {
      throw invalid_argument("alias '" + alias.str() + "' is given twice");
    }
    out.push_back(std::move(alias));
  }
  return out;
}

}  // namespace hostca
