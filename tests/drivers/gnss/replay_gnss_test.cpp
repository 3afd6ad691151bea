// What only the replay backend does: files, pacing and looping. Shared behaviour is in
// gnss_test.cpp.
#include "fieldlog/gnss/replay_gnss.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <fstream>

#include "nmea_builder.hpp"
#include "run_until.hpp"
#include "temp_dir.hpp"

namespace fieldlog::gnss {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::run_until;
using testing::ublox_epoch;

ReplayOptions fast(bool loop = false) { return ReplayOptions{GnssOptions{}, 1ms, loop}; }

TEST(ReplayGnss, ReplaysAFile) {
    fieldlog::testing::TempDir dir;
    std::ofstream(dir / "drive.nmea") << ublox_epoch();
    asio::io_context io;
    auto gnss = ReplayGnss::from_file(io, dir / "drive.nmea", fast());
    ASSERT_TRUE(gnss) << gnss.error().to_string();
    ASSERT_TRUE(run_until(io, [&] { return !(*gnss)->status().connected; }));
    auto fix = (*gnss)->current_fix();
    ASSERT_TRUE(fix);
    EXPECT_EQ(fix->gnss_time_ms, testing::kEpochTimeMs);
}

TEST(ReplayGnss, NamesAMissingFile) {
    fieldlog::testing::TempDir dir;
    asio::io_context io;
    auto gnss = ReplayGnss::from_file(io, dir / "absent.nmea", fast());
    ASSERT_FALSE(gnss);
    EXPECT_EQ(gnss.error().code(), Errc::not_found);
    EXPECT_NE(gnss.error().message().find("absent.nmea"), std::string::npos);
}

TEST(ReplayGnss, RejectsIntervalBelowOneMillisecond) {
    asio::io_context io;
    auto gnss = ReplayGnss::from_text(io, ublox_epoch(), ReplayOptions{GnssOptions{}, 0ms, true});
    ASSERT_FALSE(gnss);
    EXPECT_EQ(gnss.error().code(), Errc::invalid_argument);
}

TEST(ReplayGnss, FeedsOneLinePerInterval) {
    asio::io_context io;
    const std::string text = ublox_epoch();
    auto gnss = ReplayGnss::from_text(io, text, fast());
    ASSERT_TRUE(gnss);
    EXPECT_EQ((*gnss)->status().bytes_received, 0U);
    EXPECT_EQ(io.run_one(), 1U);
    EXPECT_EQ((*gnss)->status().bytes_received, text.find('\n') + 1);
}

TEST(ReplayGnss, StopsAtTheEndUnlessLooping) {
    const std::string text = ublox_epoch();
    asio::io_context io;
    auto once = ReplayGnss::from_text(io, text, fast());
    ASSERT_TRUE(once);
    ASSERT_TRUE(run_until(io, [&] { return !(*once)->status().connected; }));
    EXPECT_EQ((*once)->status().bytes_received, text.size());

    auto looping = ReplayGnss::from_text(io, text, fast(true));
    ASSERT_TRUE(looping);
    ASSERT_TRUE(
        run_until(io, [&] { return (*looping)->status().bytes_received >= 3 * text.size(); }));
    EXPECT_TRUE((*looping)->status().connected);
    EXPECT_TRUE((*looping)->current_fix());
    (*looping)->stop();
    EXPECT_FALSE((*looping)->status().connected);
}

TEST(ReplayGnss, EmptyTextIsFinishedAtOnce) {
    asio::io_context io;
    auto gnss = ReplayGnss::from_text(io, "", fast(true));
    ASSERT_TRUE(gnss);
    EXPECT_FALSE((*gnss)->status().connected);
    EXPECT_EQ(io.poll(), 0U);  // nothing scheduled: no busy loop on an empty log
}

}  // namespace
}  // namespace fieldlog::gnss
