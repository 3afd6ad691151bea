// What only the serial backend does: option checks, opening a port that is not there yet, and
// reopening after the receiver is unplugged. Shared behaviour is in gnss_test.cpp.
#include "fieldlog/gnss/serial_gnss.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>

#include "nmea_builder.hpp"
#include "pty_pair.hpp"
#include "run_until.hpp"
#include "temp_dir.hpp"

namespace fieldlog::gnss {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::nmea;
using testing::run_until;

SerialGnssOptions fast_options(std::string device) {
    SerialGnssOptions options;
    options.device = std::move(device);
    options.reopen_initial = 10ms;
    options.reopen_max = 40ms;
    return options;
}

// Points link at target atomically, as udev does with /dev/serial/by-id/ links.
void point_link(const std::filesystem::path& link, const std::string& target) {
    auto fresh = link;
    fresh += ".new";
    std::filesystem::create_symlink(target, fresh);
    std::filesystem::rename(fresh, link);
}

TEST(SerialGnss, OpensAtEverySupportedBaudRate) {
    for (unsigned baud : {4800U, 9600U, 38400U, 115200U}) {
        asio::io_context io;
        testing::PtyPair pty;
        auto options = fast_options(pty.slave_path());
        options.baud_rate = baud;
        auto gnss = SerialGnss::open(io, options);
        ASSERT_TRUE(gnss) << gnss.error().to_string();
        EXPECT_TRUE((*gnss)->status().connected) << baud << ": " << (*gnss)->status().last_error;
    }
}

TEST(SerialGnss, RejectsUnsupportedBaudRate) {
    asio::io_context io;
    auto options = fast_options("/dev/ttyACM0");
    options.baud_rate = 57601;
    auto gnss = SerialGnss::open(io, options);
    ASSERT_FALSE(gnss);
    EXPECT_EQ(gnss.error().code(), Errc::invalid_argument);
    EXPECT_NE(gnss.error().message().find("57601"), std::string::npos);
}

TEST(SerialGnss, RejectsEmptyDeviceAndBadOptions) {
    asio::io_context io;
    auto no_device = SerialGnss::open(io, fast_options(""));
    ASSERT_FALSE(no_device);
    EXPECT_EQ(no_device.error().code(), Errc::invalid_argument);

    auto bad_hdop = fast_options("/dev/ttyACM0");
    bad_hdop.gnss.max_hdop = -1;
    auto rejected = SerialGnss::open(io, bad_hdop);
    ASSERT_FALSE(rejected);
    EXPECT_EQ(rejected.error().code(), Errc::invalid_argument);

    auto backwards = fast_options("/dev/ttyACM0");
    backwards.reopen_max = 1ms;
    EXPECT_FALSE(SerialGnss::open(io, backwards));
}

TEST(SerialGnss, KeepsRetryingWhileTheDeviceIsMissing) {
    fieldlog::testing::TempDir dir;
    asio::io_context io;
    auto gnss = SerialGnss::open(io, fast_options((dir / "ttyGNSS").string()));
    ASSERT_TRUE(gnss) << gnss.error().to_string();
    GnssStatus status = (*gnss)->status();
    EXPECT_FALSE(status.connected);
    EXPECT_EQ(status.io_errors, 1U);
    EXPECT_NE(status.last_error.find((dir / "ttyGNSS").string()), std::string::npos);
    EXPECT_TRUE(run_until(
        io, [&] { return (*gnss)->status().io_errors >= 4; }, 5s));
    EXPECT_FALSE((*gnss)->current_fix());
}

TEST(SerialGnss, RefusesAFileThatIsNotATerminal) {
    fieldlog::testing::TempDir dir;
    std::ofstream(dir / "not-a-tty") << "$GPGGA\r\n";
    asio::io_context io;
    auto gnss = SerialGnss::open(io, fast_options((dir / "not-a-tty").string()));
    ASSERT_TRUE(gnss);
    EXPECT_FALSE((*gnss)->status().connected);
    EXPECT_NE((*gnss)->status().last_error.find("line settings"), std::string::npos);
}

TEST(SerialGnss, ReopensAfterTheReceiverIsUnplugged) {
    fieldlog::testing::TempDir dir;
    const auto link = dir / "gnss0";
    auto first = std::make_unique<testing::PtyPair>();
    point_link(link, first->slave_path());
    asio::io_context io;
    auto opened = SerialGnss::open(io, fast_options(link.string()));
    ASSERT_TRUE(opened);
    SerialGnss& gnss = **opened;
    ASSERT_TRUE(gnss.status().connected) << gnss.status().last_error;

    first->write(testing::ublox_epoch());
    ASSERT_TRUE(run_until(io, [&] { return gnss.current_fix().has_value(); }));

    first->close_master();
    ASSERT_TRUE(run_until(io, [&] { return !gnss.status().connected; }));
    EXPECT_GE(gnss.status().io_errors, 1U);
    // A fix from a moment ago still says where the inspector stands; only its age retires it.
    EXPECT_TRUE(gnss.current_fix());

    testing::PtyPair second;
    point_link(link, second.slave_path());
    ASSERT_TRUE(run_until(io, [&] { return gnss.status().connected; }));
    second.write(nmea("GNRMC,090000.00,A,3436.20000,S,05822.80000,W,0.0,,251126,,,A,V") +
                 nmea("GNGGA,090000.00,3436.20000,S,05822.80000,W,1,09,0.90,25.0,M,16.0,M,,"));
    ASSERT_TRUE(run_until(io, [&] { return gnss.current_fix().has_value(); }));
    EXPECT_NEAR(gnss.current_fix()->lat, -(34.0 + 36.2 / 60.0), 1e-9);
}

TEST(SerialGnss, StopClosesThePort) {
    asio::io_context io;
    testing::PtyPair pty;
    auto gnss = SerialGnss::open(io, fast_options(pty.slave_path()));
    ASSERT_TRUE(gnss);
    (*gnss)->stop();
    EXPECT_FALSE((*gnss)->status().connected);
    pty.write(testing::ublox_epoch());
    run_until(
        io, [] { return false; }, 50ms);
    EXPECT_EQ((*gnss)->status().bytes_received, 0U);
}

}  // namespace
}  // namespace fieldlog::gnss
