// The once-event tests' tracked value (tracked_value.hpp), and the fixture
// that checks no such value leaked, was lost or was destroyed twice.
#pragma once

#include <gtest/gtest.h>

#include "tracked_value.hpp"

namespace beacon_test {

// Every value a test created is destroyed exactly once by its end.
class tracked_values : public ::testing::Test {
 protected:
  void SetUp() override { tracked::reset_counts(); }
  void TearDown() override {
    EXPECT_EQ(tracked::live.load(), 0) << "a value leaked or was lost";
    EXPECT_EQ(tracked::destroyed_twice.load(), 0) << "a value destroyed twice";
  }
};

}  // namespace beacon_test
