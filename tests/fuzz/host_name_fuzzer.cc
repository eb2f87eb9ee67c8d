// Host names and aliases: the whole input as one name, then the input split
// at newlines as a host name followed by its aliases.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "domain/host_name.h"
#include "domain/name_policy.h"
#include "fuzz_support.h"

namespace {

void check_accepted(const hostca::HostName& name) {
  const std::string& s = name.str();
  hostca::fuzz::require(!s.empty() && s.size() <= 253, "an accepted name has 1 to 253 characters");
  for (char c : s) {
    hostca::fuzz::require(std::islower(static_cast<unsigned char>(c)) ||
                              std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.',
                          "an accepted name holds only a-z, 0-9, '-' and '.'");
  }
  hostca::fuzz::require(hostca::HostName::parse(s) == name, "an accepted name parses to itself");
  hostca::fuzz::require(s.back() != '.', "an accepted name has no trailing dot");
  const std::string last = s.substr(s.rfind('.') == std::string::npos ? 0 : s.rfind('.') + 1);
  hostca::fuzz::require(last.find_first_not_of("0123456789") != std::string::npos,
                        "an accepted name does not end in an all-digit label (an IP address)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hostca;
  const std::string text = fuzz::as_string(data, size);
  fuzz::expect_only_errors("HostName::parse", [&] { check_accepted(HostName::parse(text)); });
  fuzz::expect_only_errors("NamePattern::parse", [&] {
    const NamePattern p = NamePattern::parse(text);
    check_accepted(p.base());
    fuzz::require(NamePattern::parse(p.str()).str() == p.str(), "a pattern parses to itself");
    fuzz::require(!p.wildcard() || !p.matches(p.base()), "a wildcard never matches its base");
  });

  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {  // ends: start grows by at least one each round
    const std::size_t nl = text.find('\n', start);
    const std::size_t end = nl == std::string::npos ? text.size() : nl;
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  fuzz::expect_only_errors("parse_aliases", [&] {
    const HostName host = HostName::parse(lines.front());
    const std::vector<std::string> alias_texts(lines.begin() + 1, lines.end());
    const std::vector<HostName> aliases = parse_aliases(alias_texts, host);
    fuzz::require(aliases.size() == alias_texts.size() && aliases.size() <= kMaxAliases,
                  "accepted aliases are all kept, at most kMaxAliases");
    for (const auto& a : aliases) {
      check_accepted(a);
      fuzz::require(!(a == host), "no accepted alias repeats the host name");
    }
  });
  return 0;
}
