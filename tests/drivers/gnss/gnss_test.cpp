// The behaviour every GNSS backend shares, checked over each: SerialGnss reading a pty the test
// writes into in pieces, and ReplayGnss feeding the same text on its timer.
#include "fieldlog/gnss/gnss.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <cmath>
#include <memory>
#include <random>
#include <string>

#include "fieldlog/gnss/replay_gnss.hpp"
#include "fieldlog/gnss/serial_gnss.hpp"
#include "nmea_builder.hpp"
#include "pty_pair.hpp"
#include "run_until.hpp"

namespace fieldlog::gnss {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::kEpochLat;
using testing::kEpochLon;
using testing::kEpochTimeMs;
using testing::nmea;
using testing::nmea_bad_checksum;
using testing::run_until;
using testing::ublox_epoch;

// Starts one backend and delivers NMEA text to it the way that backend receives it.
class Backend {
public:
    virtual ~Backend() = default;
    // Returns once the backend has taken in all of text, or nullptr (with a test failure).
    virtual Gnss* play(asio::io_context& io, const GnssOptions& options,
                       const std::string& text) = 0;
};

class SerialBackend final : public Backend {
public:
    Gnss* play(asio::io_context& io, const GnssOptions& options, const std::string& text) override {
        SerialGnssOptions serial;
        serial.device = pty_.slave_path();
        serial.gnss = options;
        auto opened = SerialGnss::open(io, serial);
        if (!opened) {
            ADD_FAILURE() << opened.error().to_string();
            return nullptr;
        }
        gnss_ = std::move(*opened);
        if (!gnss_->status().connected) {
            ADD_FAILURE() << gnss_->status().last_error;
            return nullptr;
        }
        // Pieces of 1 to 23 bytes, each read before the next is written, so sentences arrive
        // split the way a slow UART delivers them.
        std::minstd_rand random(42);
        std::size_t written = 0;
        while (written < text.size()) {
            std::size_t piece = std::min<std::size_t>(1 + random() % 23, text.size() - written);
            pty_.write(std::string_view(text).substr(written, piece));
            written += piece;
            if (!run_until(io, [&] { return gnss_->status().bytes_received >= written; })) {
                ADD_FAILURE() << "SerialGnss read " << gnss_->status().bytes_received << " of "
                              << written << " bytes";
                return nullptr;
            }
        }
        return gnss_.get();
    }

private:
    testing::PtyPair pty_;
    std::unique_ptr<SerialGnss> gnss_;
};

class ReplayBackend final : public Backend {
public:
    Gnss* play(asio::io_context& io, const GnssOptions& options, const std::string& text) override {
        auto started = ReplayGnss::from_text(io, text, ReplayOptions{options, 1ms, false});
        if (!started) {
            ADD_FAILURE() << started.error().to_string();
            return nullptr;
        }
        gnss_ = std::move(*started);
        if (!run_until(io, [&] { return gnss_->status().bytes_received >= text.size(); })) {
            ADD_FAILURE() << "ReplayGnss fed " << gnss_->status().bytes_received << " of "
                          << text.size() << " bytes";
            return nullptr;
        }
        return gnss_.get();
    }

private:
    std::unique_ptr<ReplayGnss> gnss_;
};

struct BackendParam {
    const char* name;
    std::unique_ptr<Backend> (*make)();
};

void PrintTo(const BackendParam& param, std::ostream* out) { *out << param.name; }

class GnssBackendTest : public ::testing::TestWithParam<BackendParam> {
protected:
    Gnss& play(const std::string& text, GnssOptions options = {}) {
        backend_ = GetParam().make();
        Gnss* gnss = backend_->play(io_, options, text);
        if (gnss == nullptr) throw std::runtime_error("backend did not start");
        return *gnss;
    }

    asio::io_context io_;
    std::unique_ptr<Backend> backend_;
};

TEST_P(GnssBackendTest, ReportsNoDataBeforeAnySentence) {
    Gnss& gnss = play("");
    EXPECT_FALSE(gnss.current_fix());
    EXPECT_EQ(gnss.status().fix_state, FixState::no_data);
    EXPECT_FALSE(gnss.status().last_sentence);
}

TEST_P(GnssBackendTest, ReportsFixFromReceiverOutput) {
    const auto before = std::chrono::steady_clock::now();
    Gnss& gnss = play(ublox_epoch());
    auto fix = gnss.current_fix();
    ASSERT_TRUE(fix);
    EXPECT_NEAR(fix->lat, kEpochLat, 1e-9);
    EXPECT_NEAR(fix->lon, kEpochLon, 1e-9);
    EXPECT_DOUBLE_EQ(*fix->altitude_m, 23.4);
    EXPECT_EQ(fix->quality, 1);
    EXPECT_EQ(fix->satellites, 12);
    EXPECT_DOUBLE_EQ(*fix->hdop, 0.78);
    EXPECT_EQ(fix->gnss_time_ms, kEpochTimeMs);
    EXPECT_GE(fix->received, before);
    EXPECT_LE(fix->received, std::chrono::steady_clock::now());

    GnssStatus status = gnss.status();
    EXPECT_EQ(status.fix_state, FixState::fix);
    EXPECT_EQ(status.fix_mode, 3);
    EXPECT_EQ(status.satellites_used, 12);
    EXPECT_EQ(status.satellites_in_view, 10);
    EXPECT_DOUBLE_EQ(*status.pdop, 1.32);
    EXPECT_EQ(status.gnss_time_ms, kEpochTimeMs);
    EXPECT_TRUE(status.last_sentence);
    EXPECT_EQ(status.bytes_received, ublox_epoch().size());
    EXPECT_EQ(status.nmea.accepted, 7U);
    EXPECT_EQ(status.nmea.ignored, 2U);
    EXPECT_EQ(status.nmea.total_rejected(), 0U);
}

TEST_P(GnssBackendTest, CountsBadInputAndKeepsTheGoodFix) {
    std::string text = ublox_epoch();
    // A corrupted report of somewhere else, line noise, and a line that never ends.
    text +=
        nmea_bad_checksum("GNGGA,083600.00,3436.20000,S,05822.80000,W,1,12,0.7,25.0,M,16.0,M,,");
    text += std::string("\x13\x00\xfe~~~", 6);
    text += "$GNGGA," + std::string(200, '9') + "\r\n";
    text += nmea("GNGGA,083600.00,9135.12340,N,11418.56780,E,1,12,0.78,23.4,M,-10.2,M,,");
    Gnss& gnss = play(text);
    auto fix = gnss.current_fix();
    ASSERT_TRUE(fix);
    EXPECT_NEAR(fix->lat, kEpochLat, 1e-9);
    EXPECT_EQ(fix->gnss_time_ms, kEpochTimeMs);
    NmeaStats stats = gnss.status().nmea;
    EXPECT_EQ(stats.rejected_for(NmeaError::bad_checksum), 1U);
    EXPECT_EQ(stats.rejected_for(NmeaError::too_long), 1U);
    EXPECT_EQ(stats.rejected_for(NmeaError::out_of_range), 1U);
    EXPECT_EQ(stats.garbage_bytes, 6U);
    EXPECT_EQ(stats.total_rejected(), 3U);
}

TEST_P(GnssBackendTest, StaleFixExpires) {
    GnssOptions options;
    options.max_fix_age = 200ms;
    // GGA last, so the fix is fresh when the text is in, however long the delivery took.
    Gnss& gnss =
        play(nmea("GNRMC,083559.00,A,3035.12340,N,11418.56780,E,0.0,,251126,,,A,V") +
                 nmea("GNGGA,083559.00,3035.12340,N,11418.56780,E,1,12,0.78,23.4,M,-10.2,M,,"),
             options);
    auto fix = gnss.current_fix();
    ASSERT_TRUE(fix);
    EXPECT_TRUE(run_until(
        io_, [&] { return !gnss.current_fix(); }, 5s));
    EXPECT_GE(std::chrono::steady_clock::now() - fix->received, 200ms);
    EXPECT_EQ(gnss.status().fix_state, FixState::stale);
}

TEST_P(GnssBackendTest, RefusesFixWithHdopAboveLimit) {
    GnssOptions options;
    options.max_hdop = 2.0;
    Gnss& gnss = play(nmea("GNRMC,083559.00,A,3035.12340,N,11418.56780,E,0.0,,251126,,,A,V") +
                          nmea("GNGGA,083559.00,3035.12340,N,11418.56780,E,1,05,3.50,23.4,M,"
                               "-10.2,M,,"),
                      options);
    EXPECT_FALSE(gnss.current_fix());
    EXPECT_EQ(gnss.status().fix_state, FixState::poor);
    EXPECT_DOUBLE_EQ(*gnss.status().hdop, 3.5);
}

TEST_P(GnssBackendTest, RefusesFixWithTooFewSatellites) {
    GnssOptions options;
    options.min_satellites = 6;
    Gnss& gnss = play(nmea("GNRMC,083559.00,A,3035.12340,N,11418.56780,E,0.0,,251126,,,A,V") +
                          nmea("GNGGA,083559.00,3035.12340,N,11418.56780,E,1,05,0.90,23.4,M,"
                               "-10.2,M,,"),
                      options);
    EXPECT_FALSE(gnss.current_fix());
    EXPECT_EQ(gnss.status().fix_state, FixState::poor);
    EXPECT_EQ(gnss.status().satellites_used, 5);
}

TEST_P(GnssBackendTest, DropsFixWhenReceiverLosesIt) {
    Gnss& gnss = play(ublox_epoch() + nmea("GNRMC,083600.00,V,,,,,,,251126,,,N,V") +
                      nmea("GNGGA,083600.00,,,,,0,00,99.99,,,,,,"));
    EXPECT_FALSE(gnss.current_fix());
    EXPECT_EQ(gnss.status().fix_state, FixState::no_fix);
    EXPECT_EQ(gnss.status().quality, 0);
}

TEST_P(GnssBackendTest, NeverAttachesDeadReckoning) {
    Gnss& gnss =
        play(nmea("GNRMC,083559.00,A,3035.12340,N,11418.56780,E,0.0,,251126,,,E,V") +
             nmea("GNGGA,083559.00,3035.12340,N,11418.56780,E,6,12,0.78,23.4,M,-10.2,M,,"));
    EXPECT_FALSE(gnss.current_fix());
    EXPECT_EQ(gnss.status().fix_state, FixState::no_fix);
    EXPECT_EQ(gnss.status().quality, 6);
}

TEST_P(GnssBackendTest, WaitsForDateBeforeAttachingFix) {
    Gnss& gnss =
        play(nmea("GNGGA,083559.00,3035.12340,N,11418.56780,E,1,12,0.78,23.4,M,-10.2,M,,"));
    EXPECT_FALSE(gnss.current_fix());
    EXPECT_EQ(gnss.status().fix_state, FixState::no_date);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, GnssBackendTest,
    ::testing::Values(
        BackendParam{"SerialGnssOnPty", [] { return std::unique_ptr<Backend>(new SerialBackend); }},
        BackendParam{"ReplayGnss", [] { return std::unique_ptr<Backend>(new ReplayBackend); }}),
    [](const ::testing::TestParamInfo<BackendParam>& param_info) {
        return std::string(param_info.param.name);
    });

TEST(GnssOptions, AcceptsDefaults) { EXPECT_TRUE(check_gnss_options(GnssOptions{})); }

TEST(GnssOptions, RejectsValuesOutOfRange) {
    GnssOptions zero_age;
    zero_age.max_fix_age = 0ms;
    GnssOptions nan_hdop;
    nan_hdop.max_hdop = std::nan("");
    GnssOptions negative_satellites;
    negative_satellites.min_satellites = -1;
    for (const auto& options : {zero_age, nan_hdop, negative_satellites}) {
        auto checked = check_gnss_options(options);
        ASSERT_FALSE(checked);
        EXPECT_EQ(checked.error().code(), Errc::invalid_argument);
    }
}

TEST(FixState, HasDistinctNames) {
    EXPECT_EQ(fix_state_name(FixState::no_data), "no_data");
    EXPECT_EQ(fix_state_name(FixState::no_date), "no_date");
    EXPECT_EQ(fix_state_name(FixState::fix), "fix");
    EXPECT_EQ(fix_state_name(FixState::stale), "stale");
}

}  // namespace
}  // namespace fieldlog::gnss
