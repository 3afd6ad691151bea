#include "fieldlog/gnss/nmea_parser.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "fieldlog/files.hpp"
#include "nmea_builder.hpp"
#include "temp_dir.hpp"

namespace fieldlog::gnss {
namespace {

using testing::kEpochLat;
using testing::kEpochLon;
using testing::kEpochTimeMs;
using testing::nmea;
using testing::nmea_bad_checksum;
using testing::ublox_epoch;

constexpr double kTolerance = 1e-9;

// The classic NMEA reference sentences (NMEA 2.x, GP talker): 48.1173 N, 11.516667 E.
const std::string kGga = "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,";
const std::string kRmc = "GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W";
constexpr std::int64_t kRmcTimeMs = 764426119000;  // 1994-03-23T12:35:19Z

std::uint64_t rejected(const NmeaParser& parser, NmeaError error) {
    return parser.stats().rejected_for(error);
}

TEST(NmeaParser, ReadsGgaPositionQualitySatellitesHdopAndAltitude) {
    NmeaParser parser;
    EXPECT_EQ(parser.feed(nmea(kGga)), 1U);
    const NmeaState& s = parser.state();
    EXPECT_EQ(s.gga_sequence, 1U);
    EXPECT_EQ(s.time_of_day_ms, (12 * 3600 + 35 * 60 + 19) * 1000);
    EXPECT_NEAR(*s.lat_deg, 48.0 + 7.038 / 60.0, kTolerance);
    EXPECT_NEAR(*s.lon_deg, 11.0 + 31.0 / 60.0, kTolerance);
    EXPECT_EQ(s.quality, 1);
    EXPECT_EQ(s.satellites_used, 8);
    EXPECT_DOUBLE_EQ(*s.hdop, 0.9);
    EXPECT_DOUBLE_EQ(*s.altitude_m, 545.4);
    EXPECT_EQ(parser.stats().accepted, 1U);
    EXPECT_EQ(parser.stats().total_rejected(), 0U);
}

TEST(NmeaParser, ReadsRmcStatusDateTimeSpeedAndCourse) {
    NmeaParser parser;
    EXPECT_EQ(parser.feed(nmea(kRmc)), 1U);
    const NmeaState& s = parser.state();
    EXPECT_EQ(s.rmc_active, true);
    EXPECT_EQ(s.rmc_utc_ms, kRmcTimeMs);
    EXPECT_NEAR(*s.rmc_lat_deg, 48.1173, kTolerance);
    EXPECT_NEAR(*s.speed_mps, 22.4 * 1852.0 / 3600.0, kTolerance);
    EXPECT_DOUBLE_EQ(*s.course_deg, 84.4);
}

TEST(NmeaParser, CombinesGgaTimeWithRmcDate) {
    NmeaParser parser;
    parser.feed(nmea(kGga));
    EXPECT_FALSE(parser.state().gga_utc_ms());  // no date yet
    parser.feed(nmea(kRmc));
    EXPECT_EQ(parser.state().gga_utc_ms(), kRmcTimeMs);
}

TEST(NmeaParser, ReadsUbloxNmea4EpochWithGnTalkers) {
    NmeaParser parser;
    EXPECT_EQ(parser.feed(ublox_epoch()), 7U);
    const NmeaState& s = parser.state();
    EXPECT_NEAR(*s.lat_deg, kEpochLat, kTolerance);
    EXPECT_NEAR(*s.lon_deg, kEpochLon, kTolerance);
    EXPECT_EQ(s.gga_utc_ms(), kEpochTimeMs);
    EXPECT_EQ(s.satellites_used, 12);
    EXPECT_DOUBLE_EQ(*s.altitude_m, 23.4);
    EXPECT_EQ(s.fix_mode, 3);
    EXPECT_DOUBLE_EQ(*s.pdop, 1.32);
    EXPECT_DOUBLE_EQ(*s.gsa_hdop, 0.78);
    EXPECT_DOUBLE_EQ(*s.vdop, 1.07);
    EXPECT_EQ(s.used_by_system[1].count, 7);  // GPS, by the GSA system id
    EXPECT_EQ(s.used_by_system[1].ids[6], 29);
    EXPECT_EQ(s.used_by_system[2].count, 3);  // GLONASS
    EXPECT_EQ(s.gsa_satellite_count(), 10);
    EXPECT_EQ(s.satellites_in_view(), 7 + 3);
    EXPECT_EQ(parser.stats().ignored, 2U);  // VTG and GLL
    EXPECT_EQ(parser.stats().total_rejected(), 0U);
}

TEST(NmeaParser, AcceptsEveryListedTalker) {
    for (std::string talker : {"GP", "GN", "GL", "GA", "GB", "BD"}) {
        NmeaParser parser;
        EXPECT_EQ(parser.feed(nmea(talker + kGga.substr(2))), 1U) << talker;
    }
}

TEST(NmeaParser, RejectsUnsupportedTalker) {
    NmeaParser parser;
    EXPECT_EQ(parser.feed(nmea("XX" + kGga.substr(2))), 0U);
    EXPECT_EQ(rejected(parser, NmeaError::unsupported_talker), 1U);
    EXPECT_EQ(parser.state().gga_sequence, 0U);
}

TEST(NmeaParser, IgnoresProprietaryAndUnusedSentences) {
    NmeaParser parser;
    parser.feed(
        nmea("PUBX,00,083559.00,3035.12340,N,11418.56780,E,23.4,G3,2.1,2.0,0.0,0,0,"
             "0.78,1.07,0.9,12,0,0"));
    parser.feed(nmea("GPTXT,01,01,02,u-blox AG - www.u-blox.com"));
    parser.feed(nmea("GPVTG,084.4,T,,M,022.4,N,041.5,K,A"));
    EXPECT_EQ(parser.stats().ignored, 3U);
    EXPECT_EQ(parser.stats().accepted, 0U);
    EXPECT_EQ(parser.stats().total_rejected(), 0U);
}

TEST(NmeaParser, RejectsSentenceWithBadChecksum) {
    NmeaParser parser;
    parser.feed(nmea(kGga));
    EXPECT_EQ(parser.feed(nmea_bad_checksum("GPGGA,123520,3351.500,S,15112.500,E,1,09,0.8,"
                                            "10.0,M,20.0,M,,")),
              0U);
    EXPECT_EQ(rejected(parser, NmeaError::bad_checksum), 1U);
    EXPECT_NEAR(*parser.state().lat_deg, 48.1173, kTolerance);  // unchanged
    EXPECT_EQ(parser.state().gga_sequence, 1U);
}

TEST(NmeaParser, RejectsSentenceWithoutChecksum) {
    NmeaParser parser;
    EXPECT_EQ(parser.feed("$" + kGga + "\r\n"), 0U);
    EXPECT_EQ(rejected(parser, NmeaError::malformed), 1U);
}

TEST(NmeaParser, AcceptsLowerCaseChecksumDigits) {
    NmeaParser parser;
    std::string body = "GPGSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1";
    std::string sum = testing::checksum_of(body);
    for (char& c : sum) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(parser.feed("$" + body + "*" + sum + "\r\n"), 1U);
}

TEST(NmeaParser, ParsesSentencesSplitAtEveryByte) {
    const std::string text = ublox_epoch();
    for (std::size_t split = 0; split <= text.size(); ++split) {
        NmeaParser parser;
        std::size_t accepted = parser.feed(text.substr(0, split));
        accepted += parser.feed(text.substr(split));
        EXPECT_EQ(accepted, 7U) << "split at " << split;
        EXPECT_EQ(parser.state().gga_utc_ms(), kEpochTimeMs);
    }
    NmeaParser bytewise;
    for (char c : text) bytewise.feed(std::string_view(&c, 1));
    EXPECT_EQ(bytewise.stats().accepted, 7U);
    EXPECT_EQ(bytewise.stats().total_rejected(), 0U);
}

TEST(NmeaParser, AcceptsLfOnlyLineEndsAndSentencesJoinedWithoutLineEnd) {
    NmeaParser parser;
    EXPECT_EQ(parser.feed(nmea(kRmc, "\n") + nmea(kGga, "")), 1U);  // GGA not ended yet
    EXPECT_EQ(parser.feed(nmea("GPGSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1", "") +
                          nmea("GPGSV,1,1,02,04,40,083,46,05,17,308,41", "\r")),
              3U);
    EXPECT_EQ(parser.stats().total_rejected(), 0U);
    EXPECT_EQ(parser.stats().garbage_bytes, 0U);
}

TEST(NmeaParser, SkipsGarbageBetweenSentences) {
    NmeaParser parser;
    const std::string noise("\x00\xff junk \x7f", 9);
    EXPECT_EQ(parser.feed(noise + nmea(kGga) + "!AIVDM\r\n" + nmea(kRmc)), 2U);
    EXPECT_EQ(parser.stats().garbage_bytes, noise.size() + 6);
    EXPECT_EQ(parser.stats().total_rejected(), 0U);
}

TEST(NmeaParser, DropsOverlongLineAndRecoversAtNextSentence) {
    NmeaParser parser;
    std::string longline = "$GPGGA," + std::string(NmeaParser::kMaxSentenceLength, '1') + "\r\n";
    EXPECT_EQ(parser.feed(longline + nmea(kGga)), 1U);
    EXPECT_EQ(rejected(parser, NmeaError::too_long), 1U);
    EXPECT_EQ(parser.stats().garbage_bytes, 0U);  // the rest of the long line counts once
}

TEST(NmeaParser, TruncatedSentenceDoesNotSwallowTheNextOne) {
    NmeaParser parser;
    std::string cut = nmea(kRmc).substr(0, 30);
    EXPECT_EQ(parser.feed(cut + nmea(kGga)), 1U);
    EXPECT_EQ(rejected(parser, NmeaError::malformed), 1U);
    EXPECT_FALSE(parser.state().rmc_utc_ms);
}

TEST(NmeaParser, RejectsControlCharacterInsideSentence) {
    NmeaParser parser;
    std::string sentence = nmea(kGga);
    sentence[10] = '\x01';
    EXPECT_EQ(parser.feed(sentence), 0U);
    EXPECT_EQ(rejected(parser, NmeaError::malformed), 1U);
    EXPECT_EQ(parser.feed(nmea(kGga)), 1U);
}

TEST(NmeaParser, GivesSouthernAndWesternHemispheresNegativeDegrees) {
    NmeaParser parser;
    // Buenos Aires; then Sydney; then a point on the prime meridian south of the equator.
    parser.feed(nmea("GNGGA,150000.00,3436.20000,S,05822.80000,W,2,10,0.9,25.0,M,16.0,M,1.2,0031"));
    EXPECT_NEAR(*parser.state().lat_deg, -(34.0 + 36.2 / 60.0), kTolerance);
    EXPECT_NEAR(*parser.state().lon_deg, -(58.0 + 22.8 / 60.0), kTolerance);
    EXPECT_EQ(parser.state().quality, 2);
    parser.feed(nmea("GPRMC,001500,A,3351.500,S,15112.500,E,0.0,,010124,,,A"));
    EXPECT_NEAR(*parser.state().rmc_lat_deg, -(33.0 + 51.5 / 60.0), kTolerance);
    EXPECT_NEAR(*parser.state().rmc_lon_deg, 151.0 + 12.5 / 60.0, kTolerance);
    parser.feed(nmea("GPGGA,001501,0030.000,S,00000.000,W,1,05,1.1,3.0,M,,,,"));
    EXPECT_NEAR(*parser.state().lat_deg, -0.5, kTolerance);
    EXPECT_EQ(*parser.state().lon_deg, 0.0);
    EXPECT_EQ(parser.stats().total_rejected(), 0U);
}

TEST(NmeaParser, RejectsOutOfRangeValues) {
    const char* bodies[] = {
        "GPGGA,123519,9100.000,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",     // latitude 91
        "GPGGA,123519,4860.000,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",     // 60 minutes
        "GPGGA,123519,4807.038,N,18030.000,E,1,08,0.9,545.4,M,46.9,M,,",     // longitude 180.5
        "GPGGA,253519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",     // hour 25
        "GPGGA,123519,4807.038,N,01131.000,E,9,08,0.9,545.4,M,46.9,M,,",     // quality 9
        "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,99999.0,M,46.9,M,,",   // altitude 100 km
        "GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,300223,003.1,W",  // 30 February
        "GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,231394,003.1,W",  // month 13
        "GPRMC,123519,A,4807.038,N,01131.000,E,022.4,361.0,230394,003.1,W",  // course 361
        "GPGSA,A,4,04,05,,09,12,,,24,,,,,2.5,1.3,2.1",                       // fix mode 4
        "GPGSV,2,3,08,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45",  // message 3 of 2
        "GPGSV,1,1,01,07,91,083,46",                                         // elevation 91
    };
    for (const char* body : bodies) {
        NmeaParser parser;
        EXPECT_EQ(parser.feed(nmea(body)), 0U) << body;
        EXPECT_EQ(rejected(parser, NmeaError::out_of_range), 1U) << body;
    }
}

TEST(NmeaParser, RejectsBadFields) {
    const char* bodies[] = {
        "GPGGA,123519,4807.038,X,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",     // hemisphere X
        "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,",      // a field short
        "GPGGA,123519,48O7.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",     // letter O in lat
        "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,F,46.9,M,,",     // altitude in feet
        "GPGGA,123519,4807.038,N,01131.000,E,1,08,1e3,545.4,M,46.9,M,,",     // exponent
        "GPGGA,123519,4807.038,N,01131.000,E,1,08,nan,545.4,M,46.9,M,,",     // nan
        "GPGGA,,,,,,1,08,0.9,545.4,M,46.9,M,,",                              // fix without position
        "GPGGA,123519,4807.038,N,01131.000,E,,08,0.9,545.4,M,46.9,M,,",      // no quality
        "GPRMC,123519,X,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W",  // status X
        "GPRMC,123519,A,,,,,022.4,084.4,230394,003.1,W",                     // active, no position
        "GPRMC,123519,A,4807.038,N,01131.000,E,-22.4,084.4,230394,003.1,W",  // negative speed
        "GPGSA,X,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1",                       // mode X
        "GPGSV,1,1,02,04,40,083",                                            // a cut block
    };
    for (const char* body : bodies) {
        NmeaParser parser;
        EXPECT_EQ(parser.feed(nmea(body)), 0U) << body;
        EXPECT_EQ(rejected(parser, NmeaError::bad_field), 1U) << body;
    }
}

TEST(NmeaParser, NeverHalfAppliesARejectedSentence) {
    NmeaParser parser;
    parser.feed(nmea(kGga));
    // Position, quality and satellites are fine; the altitude unit at the end is not.
    parser.feed(nmea("GPGGA,130000,3436.200,S,05822.800,W,2,11,0.7,25.0,X,16.0,M,,"));
    const NmeaState& s = parser.state();
    EXPECT_EQ(s.gga_sequence, 1U);
    EXPECT_NEAR(*s.lat_deg, 48.1173, kTolerance);
    EXPECT_EQ(s.quality, 1);
    EXPECT_EQ(s.satellites_used, 8);
    EXPECT_EQ(*s.time_of_day_ms, (12 * 3600 + 35 * 60 + 19) * 1000);
}

TEST(NmeaParser, CarriesDateAcrossMidnight) {
    constexpr std::int64_t kNewYearMs = 1798761600000;  // 2027-01-01T00:00:00Z
    // RMC first (u-blox order): the GGA after midnight belongs to the next day.
    NmeaParser parser;
    parser.feed(nmea("GNRMC,235959.50,A,3035.12340,N,11418.56780,E,0.0,,311226,,,A,V"));
    parser.feed(nmea("GNGGA,000000.50,3035.12340,N,11418.56780,E,1,12,0.78,23.4,M,-10.2,M,,"));
    EXPECT_EQ(parser.state().gga_utc_ms(), kNewYearMs + 500);
    // GGA first (SiRF order): a GGA from before midnight after the new day's RMC.
    NmeaParser late;
    late.feed(nmea("GPRMC,000000.00,A,3035.1234,N,11418.5678,E,0.0,,010127,,"));
    late.feed(nmea("GPGGA,235959.00,3035.1234,N,11418.5678,E,1,12,0.78,23.4,M,-10.2,M,,"));
    EXPECT_EQ(late.state().gga_utc_ms(), kNewYearMs - 1000);
}

TEST(NmeaParser, HandlesLeapDayAndLeapSecond) {
    NmeaParser parser;
    parser.feed(nmea("GPRMC,120000,A,4807.038,N,01131.000,E,0.0,,290224,,"));
    EXPECT_EQ(parser.state().rmc_utc_ms, 1709208000000);  // 2024-02-29T12:00:00Z
    parser.feed(nmea("GPRMC,235960,A,4807.038,N,01131.000,E,0.0,,311216,,"));
    EXPECT_EQ(parser.state().rmc_utc_ms, 1483228799999);  // last ms of 2016-12-31
    EXPECT_EQ(parser.stats().total_rejected(), 0U);
}

TEST(NmeaParser, AcceptsVoidRmcAndNoFixGgaFromAReceiverStillSearching) {
    NmeaParser parser;
    EXPECT_EQ(
        parser.feed(nmea("GNRMC,,V,,,,,,,,,,N,V") + nmea("GNGGA,,,,,,0,00,99.99,,,,,,") +
                    nmea("GNGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99,1") + nmea("GPGSV,1,1,00,1")),
        4U);
    const NmeaState& s = parser.state();
    EXPECT_EQ(s.rmc_active, false);
    EXPECT_FALSE(s.rmc_utc_ms);
    EXPECT_EQ(s.quality, 0);
    EXPECT_FALSE(s.lat_deg);
    EXPECT_EQ(s.fix_mode, 1);
    EXPECT_EQ(s.satellites_in_view(), 0);
}

TEST(NmeaParser, AssemblesGsvGroupsAcrossMessages) {
    NmeaParser parser;
    parser.feed(nmea("GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00"));
    parser.feed(nmea("GPGSV,3,2,11,14,25,170,00,16,57,208,39,18,67,296,40,19,40,246,00"));
    EXPECT_EQ(parser.state().satellites_in_view(), 0);  // not applied until complete
    parser.feed(nmea("GPGSV,3,3,11,22,42,067,42,24,14,311,43,27,05,244,00,,,,"));
    EXPECT_EQ(parser.state().satellites_in_view(), 11);
    parser.feed(nmea("GLGSV,1,1,04,65,30,040,33,66,55,100,41,72,15,260,28,81,05,010,"));
    EXPECT_EQ(parser.state().satellites_in_view(), 15);
    EXPECT_EQ(parser.stats().total_rejected(), 0U);
}

TEST(NmeaParser, DropsGsvGroupWithAMissingMessage) {
    NmeaParser parser;
    parser.feed(nmea("GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00"));
    // Message 2 lost on the line.
    EXPECT_EQ(parser.feed(nmea("GPGSV,3,3,11,22,42,067,42,24,14,311,43,27,05,244,00,,,,")), 0U);
    EXPECT_EQ(rejected(parser, NmeaError::out_of_sequence), 1U);
    EXPECT_EQ(parser.state().satellites_in_view(), 0);
    // A new group after an unfinished one: the unfinished one is counted and dropped.
    parser.feed(nmea("GPGSV,2,1,05,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00"));
    parser.feed(nmea("GLGSV,1,1,01,65,30,040,33"));
    EXPECT_EQ(rejected(parser, NmeaError::out_of_sequence), 2U);
    EXPECT_EQ(parser.state().satellites_in_view(), 1);
}

TEST(NmeaParser, CountsSatellitesOnceAcrossSignalGroups) {
    // NMEA 4.11: the same GPS satellites reported for L1 C/A (signal 1) and L5 (signal 7).
    NmeaParser parser;
    parser.feed(nmea("GPGSV,1,1,04,02,35,045,38,05,60,120,42,13,20,300,35,15,45,210,40,1"));
    parser.feed(nmea("GPGSV,1,1,02,05,60,120,30,15,45,210,33,7"));
    EXPECT_EQ(parser.state().satellites_in_view(), 4);
}

TEST(NmeaParser, ClearStateForgetsReportsButKeepsCounts) {
    NmeaParser parser;
    parser.feed(ublox_epoch() + nmea_bad_checksum(kGga) + "$GPGGA,1234");
    parser.clear_state();
    EXPECT_EQ(parser.state().gga_sequence, 0U);
    EXPECT_FALSE(parser.state().lat_deg);
    EXPECT_EQ(parser.state().satellites_in_view(), 0);
    EXPECT_EQ(parser.stats().accepted, 7U);
    EXPECT_EQ(parser.stats().rejected_for(NmeaError::bad_checksum), 1U);
    // The partial "$GPGGA,1234" is gone, not glued to what comes next.
    EXPECT_EQ(parser.feed(nmea(kGga)), 1U);
    EXPECT_EQ(parser.stats().rejected_for(NmeaError::malformed), 0U);
}

TEST(NmeaParser, SurvivesRandomBytesAndSentenceFragments) {
    std::minstd_rand random(20261125);
    const std::string good = ublox_epoch() + nmea(kGga) + nmea(kRmc);
    NmeaParser parser;
    std::string chunk;
    for (int round = 0; round < 2000; ++round) {
        chunk.clear();
        int pieces = static_cast<int>(random() % 8);
        for (int p = 0; p < pieces; ++p) {
            if (random() % 2 == 0) {
                std::size_t at = random() % good.size();
                chunk += good.substr(at, random() % 90);
            } else {
                for (std::size_t n = random() % 40; n > 0; --n) {
                    chunk += static_cast<char>(random() % 256);
                }
            }
        }
        parser.feed(chunk);
        const NmeaState& s = parser.state();
        ASSERT_LE(std::abs(s.lat_deg.value_or(0.0)), 90.0);
        ASSERT_LE(std::abs(s.lon_deg.value_or(0.0)), 180.0);
        ASSERT_GE(s.quality, 0);
        ASSERT_LE(s.quality, 8);
    }
    // Whatever came before, a clean sentence is read.
    EXPECT_EQ(parser.feed("\r\n" + nmea(kGga)), 1U);
}

TEST(NmeaParser, ReadsTheFuzzSeedCorpus) {
    auto dir = fieldlog::testing::source_dir() / "tests/fuzz/corpus/nmea";
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        auto text = read_file(entry.path(), 1 << 16);
        ASSERT_TRUE(text) << text.error().to_string();
        NmeaParser parser;
        EXPECT_GT(parser.feed(*text), 0U) << entry.path();
        EXPECT_EQ(parser.stats().total_rejected(), 0U) << entry.path();
        ++files;
    }
    EXPECT_GE(files, 3);
}

TEST(NmeaParser, NamesEveryError) {
    for (std::size_t i = 0; i < kNmeaErrorCount; ++i) {
        auto name = nmea_error_name(static_cast<NmeaError>(i));
        EXPECT_FALSE(name.empty());
        for (std::size_t j = 0; j < i; ++j) {
            EXPECT_NE(name, nmea_error_name(static_cast<NmeaError>(j)));
        }
    }
}

}  // namespace
}  // namespace fieldlog::gnss
