#include "fieldlog/clock.hpp"

#include <gtest/gtest.h>

namespace fieldlog {
namespace {

TEST(Clock, ParsesDateAsMidnightUtc) {
    EXPECT_EQ(parse_time_ms("1970-01-02"), 86'400'000);
    EXPECT_EQ(parse_time_ms("2026-11-25"), 1'795'564'800'000);
}

TEST(Clock, ParsesOffsetsAndFractions) {
    EXPECT_EQ(parse_time_ms("1970-01-01T08:00:00+08:00"), 0);
    EXPECT_EQ(parse_time_ms("1970-01-01T00:00:01.250Z"), 1250);
    EXPECT_EQ(parse_time_ms("1970-01-01 00:01"), 60'000);
}

TEST(Clock, RejectsImpossibleDatesAndTrailingText) {
    EXPECT_FALSE(parse_time_ms("2026-02-30"));
    EXPECT_FALSE(parse_time_ms("2026-13-01"));
    EXPECT_FALSE(parse_time_ms("2026-11-25T25:00"));
    EXPECT_FALSE(parse_time_ms("2026-11-25T10:00Zjunk"));
    EXPECT_FALSE(parse_time_ms("yesterday"));
    EXPECT_FALSE(parse_time_ms(""));
}

TEST(Clock, FormatsRoundTrip) {
    std::int64_t ms = 1'795'575'845'123;
    EXPECT_EQ(format_utc_ms(ms), "2026-11-25T03:04:05.123Z");
    EXPECT_EQ(parse_time_ms(format_utc_ms(ms)), ms);
}

}  // namespace
}  // namespace fieldlog
