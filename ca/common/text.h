// Small text helpers for values people type: lists in one setting or flag.
#pragma once

#include <string>
#include <vector>

namespace hostca {

// "a, b,c" -> {"a", "b", "c"}: split at commas, blanks around items
// dropped, empty items left out.
std::vector<std::string> split_list(const std::string& text);

}  // namespace hostca
