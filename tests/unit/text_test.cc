#include "common/text.h"

#include <gtest/gtest.h>

namespace hostca {
namespace {

TEST(SplitList, SplitsAtCommasDropsBlanksAndEmptyItems) {
  EXPECT_EQ(split_list("a, b,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(split_list(" *.lab.example.com ,\tdb01.example.com "),
            (std::vector<std::string>{"*.lab.example.com", "db01.example.com"}));
  EXPECT_EQ(split_list(",,a,, ,"), std::vector<std::string>{"a"});
  EXPECT_TRUE(split_list("").empty());
  EXPECT_TRUE(split_list(" , ").empty());
}

}  // namespace
}  // namespace hostca
