#include "domain/name_policy.h"

#include "common/error.h"

namespace hostca {

namespace {

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() &&
         text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// `name` is `base` or lies under it.
bool at_or_under(const std::string& name, const std::string& base) {
  return name == base || ends_with(name, "." + base);
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

constexpr std::size_t kMaxPatterns = 64;

}  // namespace

NamePattern NamePattern::parse(const std::string& text) {
  if (text.rfind("*.", 0) == 0) {
    return NamePattern(HostName::parse(text.substr(2), "name pattern '" + text + "'"), true);
  }
  if (text.find('*') != std::string::npos) {
    throw invalid_argument("name pattern '" + text +
                           "' may hold a '*' only as its whole first label ('*.example.com')");
  }
  return NamePattern(HostName::parse(text, "name pattern"), false);
}

bool NamePattern::matches(const HostName& name) const {
  if (!wildcard_) return name == base_;
  return ends_with(name.str(), "." + base_.str());
}

bool is_reserved_name(const HostName& name) { return at_or_under(name.str(), "localhost"); }

bool NamePolicy::within_suffixes(const HostName& name) const {
  if (allowed_suffixes.empty()) return true;
  for (const auto& suffix : allowed_suffixes) {
    if (at_or_under(name.str(), suffix)) return true;
  }
  return false;
}

void NamePolicy::validate() const {
  for (const auto& suffix : allowed_suffixes) {
    const HostName parsed = HostName::parse(suffix, "names.allowed_suffixes entry");
    if (parsed.str() != suffix) {
      throw invalid_argument("names.allowed_suffixes entry '" + suffix + "' must be written as '" +
                             parsed.str() + "' (lower case, no trailing dot)");
    }
    if (is_reserved_name(parsed)) {
      throw invalid_argument("names.allowed_suffixes entry '" + suffix +
                             "' names localhost, which is never a host's");
    }
  }
}

void NamePolicy::check(const HostName& name, const std::string& what,
                       const std::vector<NamePattern>& token_patterns) const {
  if (is_reserved_name(name)) {
    throw invalid_argument(what + " '" + name.str() +
                           "' is a localhost name, which is never given to a host");
  }
  if (!within_suffixes(name)) {
    throw invalid_argument(what + " '" + name.str() +
                           "' is outside the names this CA issues (names.allowed_suffixes: " +
                           joined(allowed_suffixes) + ")");
  }
  if (token_patterns.empty()) return;
  for (const auto& p : token_patterns) {
    if (p.matches(name)) return;
  }
  std::vector<std::string> texts;
  for (const auto& p : token_patterns) texts.push_back(p.str());
  throw invalid_argument(what + " '" + name.str() +
                         "' is outside the names this authorization token allows (" +
                         joined(texts) + ")");
}

std::vector<NamePattern> NamePolicy::parse_patterns(const std::vector<std::string>& texts) const {
  if (texts.size() > kMaxPatterns) {
    throw invalid_argument("a token allows at most " + std::to_string(kMaxPatterns) +
                           " name patterns; " + std::to_string(texts.size()) + " were given");
  }
  std::vector<NamePattern> out;
  for (const auto& text : texts) {
    NamePattern p = NamePattern::parse(text);
    if (is_reserved_name(p.base())) {
      throw invalid_argument("name pattern '" + text + "' names localhost, never a host's");
    }
    // A pattern must allow some name the CA's policy allows too: its base
    // lies within the suffixes, or (for a wildcard) a suffix lies under it.
    bool possible = within_suffixes(p.base());
    if (!possible && p.wildcard()) {
      for (const auto& suffix : allowed_suffixes) {
        if (ends_with(suffix, "." + p.base().str())) possible = true;
      }
    }
    if (!possible) {
      throw invalid_argument("name pattern '" + text +
                             "' is outside the names this CA issues (names.allowed_suffixes: " +
                             joined(allowed_suffixes) + ")");
    }
    for (const auto& earlier : out) {
      if (earlier.str() == p.str()) {
        throw invalid_argument("name pattern '" + p.str() + "' is given twice");
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<NamePattern> stored_patterns(const std::vector<std::string>& texts) {
  std::vector<NamePattern> out;
  for (const auto& text : texts) out.push_back(NamePattern::parse(text));
  return out;
}

}  // namespace hostca
