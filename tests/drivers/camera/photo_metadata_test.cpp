#include "fieldlog/camera/photo_metadata.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fieldlog/clock.hpp"
#include "jpeg_fixture.hpp"

namespace fieldlog::camera {
namespace {

using fieldlog::testing::JpegFixture;
using fieldlog::testing::make_test_jpeg;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// One TIFF directory entry; values of more than 4 bytes are stored after the directory.
struct TiffEntry {
    std::uint16_t tag;
    std::uint16_t type;  // 1 BYTE, 2 ASCII, 5 RATIONAL, 10 SRATIONAL
    std::uint32_t count;
    std::vector<std::uint8_t> value;
};

void put16(std::vector<std::uint8_t>& out, std::uint32_t v) {
    out.push_back(static_cast<std::uint8_t>(v & 0xFF));
    out.push_back(static_cast<std::uint8_t>((v >> 8) & 0xFF));
}
void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    put16(out, v & 0xFFFF);
    put16(out, v >> 16);
}

TiffEntry ascii(std::uint16_t tag, const std::string& text) {
    std::vector<std::uint8_t> bytes(text.begin(), text.end());
    bytes.push_back(0);
    return {tag, 2, static_cast<std::uint32_t>(bytes.size()), bytes};
}

TiffEntry rationals(std::uint16_t tag,
                    const std::vector<std::pair<std::uint32_t, std::uint32_t>>& v,
                    std::uint16_t type = 5) {
    std::vector<std::uint8_t> bytes;
    for (auto [numerator, denominator] : v) {
        put32(bytes, numerator);
        put32(bytes, denominator);
    }
    return {tag, type, static_cast<std::uint32_t>(v.size()), bytes};
}

std::uint32_t directory_size(const std::vector<TiffEntry>& entries) {
    std::size_t size = 2 + 12 * entries.size() + 4;
    for (const auto& e : entries) {
        if (e.value.size() > 4) size += e.value.size() + e.value.size() % 2;
    }
    return static_cast<std::uint32_t>(size);
}

void put_directory(std::vector<std::uint8_t>& tiff, const std::vector<TiffEntry>& entries) {
    auto data_at = static_cast<std::uint32_t>(tiff.size()) + 2 +
                   static_cast<std::uint32_t>(12 * entries.size()) + 4;
    put16(tiff, static_cast<std::uint32_t>(entries.size()));
    for (const auto& e : entries) {
        put16(tiff, e.tag);
        put16(tiff, e.type);
        put32(tiff, e.count);
        if (e.value.size() <= 4) {
            auto inline_value = e.value;
            inline_value.resize(4, 0);
            tiff.insert(tiff.end(), inline_value.begin(), inline_value.end());
        } else {
            put32(tiff, data_at);
            data_at += static_cast<std::uint32_t>(e.value.size() + e.value.size() % 2);
        }
    }
    put32(tiff, 0);  // no next directory
    for (const auto& e : entries) {
        if (e.value.size() <= 4) continue;
        tiff.insert(tiff.end(), e.value.begin(), e.value.end());
        if (e.value.size() % 2 != 0) tiff.push_back(0);
    }
}

// An APP1 payload written by hand in little-endian order, independent of the libexif writer
// the fixture uses (which writes big-endian), for EXIF the fixture cannot express.
std::vector<std::uint8_t> exif_payload(std::vector<TiffEntry> ifd0, std::vector<TiffEntry> exif,
                                       std::vector<TiffEntry> gps) {
    std::vector<std::uint8_t> tiff = {'I', 'I', 0x2A, 0x00};
    put32(tiff, 8);
    // Pointers to the sub-directories go into IFD 0; their offsets follow from the sizes.
    if (!exif.empty()) ifd0.push_back({0x8769, 4, 1, {0, 0, 0, 0}});
    if (!gps.empty()) ifd0.push_back({0x8825, 4, 1, {0, 0, 0, 0}});
    std::uint32_t next = 8 + directory_size(ifd0);
    for (auto& e : ifd0) {
        if (e.tag == 0x8769) {
            e.value.clear();
            put32(e.value, next);
            next += directory_size(exif);
        }
    }
    for (auto& e : ifd0) {
        if (e.tag == 0x8825) {
            e.value.clear();
            put32(e.value, next);
        }
    }
    put_directory(tiff, ifd0);
    if (!exif.empty()) put_directory(tiff, exif);
    if (!gps.empty()) put_directory(tiff, gps);
    std::vector<std::uint8_t> payload = {'E', 'x', 'i', 'f', 0, 0};
    payload.insert(payload.end(), tiff.begin(), tiff.end());
    return payload;
}

// A fixture JPEG without EXIF, with payload as its first segment (APP1).
std::vector<std::uint8_t> jpeg_with_app1(const std::vector<std::uint8_t>& payload) {
    auto jpeg = make_test_jpeg({});
    const std::size_t length = payload.size() + 2;
    std::vector<std::uint8_t> segment = {0xFF, 0xE1, static_cast<std::uint8_t>(length >> 8),
                                         static_cast<std::uint8_t>(length & 0xFF)};
    segment.insert(segment.end(), payload.begin(), payload.end());
    jpeg.insert(jpeg.begin() + 2, segment.begin(), segment.end());
    return jpeg;
}

PhotoMetadata read_ok(const std::vector<std::uint8_t>& jpeg, int default_offset_minutes = 0) {
    auto result = read_jpeg_metadata(jpeg, default_offset_minutes);
    EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().message());
    return result ? *result : PhotoMetadata{};
}

std::int64_t utc_ms(const char* text) {
    auto ms = parse_time_ms(text);
    EXPECT_TRUE(ms.has_value()) << text;
    return ms.value_or(0);
}

const std::vector<std::pair<std::uint32_t, std::uint32_t>> kTenDegrees = {{10, 1}, {0, 1}, {0, 1}};

TEST(PhotoMetadata, ReadsCaptureTimeWithExifOffset) {
    JpegFixture f;
    f.exif_datetime = "2026:11:25 10:04:05";
    f.exif_offset = "+08:00";
    auto m = read_ok(make_test_jpeg(f), -300);
    EXPECT_EQ(m.capture_time_text, "2026-11-25T10:04:05+08:00");
    EXPECT_EQ(m.capture_time_ms, utc_ms("2026-11-25T02:04:05Z"));
    EXPECT_THAT(m.warnings, IsEmpty());
}

TEST(PhotoMetadata, AppliesDefaultOffsetWhenExifHasNone) {
    JpegFixture f;
    f.exif_datetime = "2026:11:25 10:04:05";
    const auto jpeg = make_test_jpeg(f);
    auto east = read_ok(jpeg, 120);
    EXPECT_EQ(east.capture_time_text, "2026-11-25T10:04:05");
    EXPECT_EQ(east.capture_time_ms, utc_ms("2026-11-25T08:04:05Z"));
    auto west = read_ok(jpeg, -330);
    EXPECT_EQ(west.capture_time_ms, utc_ms("2026-11-25T15:34:05Z"));
    EXPECT_THAT(west.warnings, IsEmpty());
}

TEST(PhotoMetadata, FallsBackToDateTimeAndItsOffsetWhenOriginalIsMissing) {
    auto m = read_ok(jpeg_with_app1(
        exif_payload({ascii(0x0132, "2026:01:02 03:04:05")}, {ascii(0x9010, "-05:00")}, {})));
    EXPECT_EQ(m.capture_time_text, "2026-01-02T03:04:05-05:00");
    EXPECT_EQ(m.capture_time_ms, utc_ms("2026-01-02T08:04:05Z"));
    EXPECT_THAT(m.warnings, IsEmpty());
}

TEST(PhotoMetadata, PrefersDateTimeOriginalOverDateTime) {
    auto m = read_ok(jpeg_with_app1(exif_payload({ascii(0x0132, "2026:12:01 00:00:00")},
                                                 {ascii(0x9003, "2026:11:25 10:04:05")}, {})));
    EXPECT_EQ(m.capture_time_text, "2026-11-25T10:04:05");
}

TEST(PhotoMetadata, WarnsAboutUnreadableOriginalTimeAndFallsBackToDateTime) {
    auto m = read_ok(jpeg_with_app1(
        exif_payload({ascii(0x0132, "2026:12:01 09:30:00")}, {ascii(0x9003, "last tuesday")}, {})));
    EXPECT_EQ(m.capture_time_text, "2026-12-01T09:30:00");
    EXPECT_THAT(m.warnings,
                ElementsAre("EXIF DateTimeOriginal \"last tuesday\" is not a valid date and time; "
                            "ignored"));
}

TEST(PhotoMetadata, WarnsAboutImpossibleOrBlankDateAndLeavesTimeEmpty) {
    for (const char* text : {"2026:13:45 10:04:05", "2026:02:30 10:04:05",
                             "    :  :     :  :  ", "0000:00:00 00:00:00"}) {
        JpegFixture f;
        f.exif_datetime = text;
        auto m = read_ok(make_test_jpeg(f));
        EXPECT_FALSE(m.capture_time_text) << text;
        EXPECT_FALSE(m.capture_time_ms) << text;
        ASSERT_EQ(m.warnings.size(), 1U) << text;
        EXPECT_THAT(m.warnings[0], HasSubstr("EXIF DateTimeOriginal")) << text;
    }
}

TEST(PhotoMetadata, WarnsAboutMalformedOffsetAndUsesDefault) {
    JpegFixture f;
    f.exif_datetime = "2026:11:25 10:04:05";
    f.exif_offset = "8 hours";
    auto m = read_ok(make_test_jpeg(f), 60);
    EXPECT_EQ(m.capture_time_text, "2026-11-25T10:04:05");
    EXPECT_EQ(m.capture_time_ms, utc_ms("2026-11-25T09:04:05Z"));
    EXPECT_THAT(m.warnings, ElementsAre("EXIF OffsetTimeOriginal \"8 hours\" is not a UTC offset; "
                                        "default offset used"));
}

TEST(PhotoMetadata, ReadsGpsPositionNorthAndEastAsPositive) {
    JpegFixture f;
    f.lat = 52.520008;
    f.lon = 13.404954;
    auto m = read_ok(make_test_jpeg(f));
    ASSERT_TRUE(m.lat && m.lon);
    EXPECT_NEAR(*m.lat, 52.520008, 1e-6);
    EXPECT_NEAR(*m.lon, 13.404954, 1e-6);
    EXPECT_FALSE(m.altitude_m);
    EXPECT_THAT(m.warnings, IsEmpty());
}

TEST(PhotoMetadata, ReadsGpsPositionWithSouthAndWestNegative) {
    JpegFixture f;
    f.lat = -33.868820;
    f.lon = -151.209296;
    auto m = read_ok(make_test_jpeg(f));
    ASSERT_TRUE(m.lat && m.lon);
    EXPECT_NEAR(*m.lat, -33.868820, 1e-6);
    EXPECT_NEAR(*m.lon, -151.209296, 1e-6);
}

TEST(PhotoMetadata, ReadsAltitudeAboveAndBelowSeaLevel) {
    JpegFixture above;
    above.altitude_m = 1234.5;
    EXPECT_EQ(read_ok(make_test_jpeg(above)).altitude_m, 1234.5);
    JpegFixture below;
    below.altitude_m = -12.25;
    auto m = read_ok(make_test_jpeg(below));
    EXPECT_EQ(m.altitude_m, -12.25);
    EXPECT_THAT(m.warnings, IsEmpty());
}

TEST(PhotoMetadata, ReadsMakeAndModelWithoutPadding) {
    JpegFixture f;
    f.make = "FieldCam  ";
    f.model = "FC-200 Rugged";
    auto m = read_ok(make_test_jpeg(f));
    EXPECT_EQ(m.camera_make, "FieldCam");
    EXPECT_EQ(m.camera_model, "FC-200 Rugged");
    EXPECT_THAT(m.warnings, IsEmpty());
}

TEST(PhotoMetadata, WarnsAboutMakeWithControlCharacters) {
    JpegFixture f;
    f.make = "Field\x01\x02";
    f.model = "FC-200";
    auto m = read_ok(make_test_jpeg(f));
    EXPECT_FALSE(m.camera_make);
    EXPECT_EQ(m.camera_model, "FC-200");
    EXPECT_THAT(m.warnings, ElementsAre("EXIF Make \"Field??\" is not plain text; ignored"));
}

TEST(PhotoMetadata, WarnsAboutTextFieldsNotStoredAsText) {
    auto m = read_ok(jpeg_with_app1(
        exif_payload({{0x010F, 1, 4, {'A', 'c', 'm', 'e'}}, ascii(0x0110, "FC-200")}, {},
                     {{0x0001, 1, 1, {'N'}},
                      rationals(0x0002, kTenDegrees),
                      ascii(0x0003, "E"),
                      rationals(0x0004, kTenDegrees)})));
    EXPECT_FALSE(m.camera_make);
    EXPECT_EQ(m.camera_model, "FC-200");
    EXPECT_FALSE(m.lat || m.lon);
    EXPECT_THAT(m.warnings,
                ElementsAre("EXIF GPS latitude reference is not stored as text; position ignored",
                            "EXIF Make is not stored as text; ignored"));
}

TEST(PhotoMetadata, ReadsDimensionsFromFrameHeader) {
    JpegFixture f;
    f.width = 37;
    f.height = 21;
    auto m = read_ok(make_test_jpeg(f));
    EXPECT_EQ(m.width, 37);
    EXPECT_EQ(m.height, 21);
}

TEST(PhotoMetadata, AcceptsJpegWithoutExif) {
    auto m = read_ok(make_test_jpeg({}));
    EXPECT_EQ(m.width, 16);
    EXPECT_EQ(m.height, 16);
    EXPECT_FALSE(m.capture_time_text || m.capture_time_ms || m.lat || m.lon || m.altitude_m ||
                 m.camera_make || m.camera_model);
    EXPECT_THAT(m.warnings, IsEmpty());
}

TEST(PhotoMetadata, ReadsEveryFieldFromOnePhoto) {
    JpegFixture f;
    f.exif_datetime = "2026:11:25 10:04:05";
    f.exif_offset = "-03:30";
    f.lat = 47.5;
    f.lon = -52.75;
    f.altitude_m = 30;
    f.make = "Acme";
    f.model = "Inspector 3";
    auto m = read_ok(make_test_jpeg(f));
    EXPECT_EQ(m.capture_time_ms, utc_ms("2026-11-25T13:34:05Z"));
    EXPECT_EQ(m.lat, 47.5);
    EXPECT_EQ(m.lon, -52.75);
    EXPECT_EQ(m.altitude_m, 30.0);
    EXPECT_EQ(m.camera_make, "Acme");
    EXPECT_EQ(m.camera_model, "Inspector 3");
    EXPECT_THAT(m.warnings, IsEmpty());
}

TEST(PhotoMetadata, WarnsAboutOutOfRangeLatitudeAndDropsPosition) {
    JpegFixture f;
    f.lat = 95;
    f.lon = 10;
    f.make = "Acme";
    auto m = read_ok(make_test_jpeg(f));
    EXPECT_FALSE(m.lat);
    EXPECT_FALSE(m.lon);
    EXPECT_EQ(m.camera_make, "Acme");
    EXPECT_THAT(m.warnings, ElementsAre("EXIF GPS latitude 95 is out of range; position ignored"));
}

TEST(PhotoMetadata, WarnsAboutOutOfRangeLongitudeAndAltitude) {
    JpegFixture f;
    f.lat = 10;
    f.lon = -200.5;
    f.altitude_m = 50000;
    auto m = read_ok(make_test_jpeg(f));
    EXPECT_FALSE(m.lat || m.lon || m.altitude_m);
    EXPECT_THAT(m.warnings,
                ElementsAre("EXIF GPS longitude 200.5 is out of range; position ignored",
                            "EXIF GPS altitude 50000 m is out of range; altitude ignored"));
}

TEST(PhotoMetadata, WarnsAboutLatitudeWithoutLongitude) {
    JpegFixture f;
    f.lat = 10;
    auto m = read_ok(make_test_jpeg(f));
    EXPECT_FALSE(m.lat);
    EXPECT_THAT(m.warnings, ElementsAre("EXIF GPS latitude without longitude; position ignored"));
}

TEST(PhotoMetadata, WarnsAboutZeroDenominatorInGpsValue) {
    auto m = read_ok(jpeg_with_app1(
        exif_payload({}, {},
                     {ascii(0x0001, "N"), rationals(0x0002, {{10, 1}, {30, 0}, {0, 1}}),
                      ascii(0x0003, "E"), rationals(0x0004, kTenDegrees)})));
    EXPECT_FALSE(m.lat || m.lon);
    EXPECT_THAT(m.warnings,
                ElementsAre("EXIF GPS latitude has a zero denominator; position ignored"));
}

TEST(PhotoMetadata, WarnsAboutMissingOrUnknownHemisphere) {
    auto missing = read_ok(jpeg_with_app1(exif_payload(
        {}, {},
        {rationals(0x0002, kTenDegrees), ascii(0x0003, "E"), rationals(0x0004, kTenDegrees)})));
    EXPECT_FALSE(missing.lat || missing.lon);
    EXPECT_THAT(missing.warnings,
                ElementsAre("EXIF GPS latitude has no N/S reference; position ignored"));

    auto unknown =
        read_ok(jpeg_with_app1(exif_payload({}, {},
                                            {ascii(0x0001, "N"), rationals(0x0002, kTenDegrees),
                                             ascii(0x0003, "X"), rationals(0x0004, kTenDegrees)})));
    EXPECT_FALSE(unknown.lat || unknown.lon);
    EXPECT_THAT(unknown.warnings,
                ElementsAre("EXIF GPS longitude reference \"X\" is not E/W; position ignored"));
}

TEST(PhotoMetadata, WarnsAboutGpsValueOfWrongType) {
    auto m =
        read_ok(jpeg_with_app1(exif_payload({}, {},
                                            {ascii(0x0001, "S"), rationals(0x0002, kTenDegrees, 10),
                                             ascii(0x0003, "E"), rationals(0x0004, kTenDegrees)})));
    EXPECT_FALSE(m.lat || m.lon);
    EXPECT_THAT(m.warnings, ElementsAre("EXIF GPS latitude is not 3 rationals; position ignored"));
}

TEST(PhotoMetadata, ReadsHandWrittenLittleEndianExif) {
    auto m = read_ok(
        jpeg_with_app1(exif_payload({ascii(0x010F, "Acme"), ascii(0x0110, "LE-1")},
                                    {ascii(0x9003, "2026:11:25 10:04:05"), ascii(0x9011, "+01:00")},
                                    {ascii(0x0001, "S"),
                                     rationals(0x0002, {{12, 1}, {30, 1}, {36, 1}}),
                                     ascii(0x0003, "W"),
                                     rationals(0x0004, kTenDegrees),
                                     {0x0005, 1, 1, {1}},
                                     rationals(0x0006, {{25, 2}})})));
    EXPECT_EQ(m.capture_time_ms, utc_ms("2026-11-25T09:04:05Z"));
    EXPECT_EQ(m.camera_make, "Acme");
    EXPECT_EQ(m.camera_model, "LE-1");
    ASSERT_TRUE(m.lat);
    EXPECT_NEAR(*m.lat, -12.51, 1e-9);
    EXPECT_EQ(m.lon, -10.0);
    EXPECT_EQ(m.altitude_m, -12.5);
    EXPECT_THAT(m.warnings, IsEmpty());
}

TEST(PhotoMetadata, GarbageInsideExifGivesWarningsNotError) {
    JpegFixture f;
    f.exif_datetime = "2026:11:25 10:04:05";
    f.lat = 10;
    f.lon = 10;
    f.make = "Acme";
    auto jpeg = make_test_jpeg(f);
    ASSERT_EQ(jpeg[3], 0xE1);
    const std::size_t app1_end = 4 + ((std::size_t{jpeg[4]} << 8) | jpeg[5]);
    // Everything after "Exif\0\0", from the TIFF header on, becomes noise.
    for (std::size_t i = 12; i < app1_end; ++i) {
        jpeg[i] = static_cast<std::uint8_t>(0xA5 ^ (i * 7));
    }
    auto m = read_ok(jpeg);
    EXPECT_THAT(m.warnings, Not(IsEmpty()));
    EXPECT_THAT(m.warnings[0], HasSubstr("EXIF block is damaged"));
    EXPECT_FALSE(m.capture_time_text || m.lat || m.camera_make);
    EXPECT_EQ(m.width, 16);
}

TEST(PhotoMetadata, DirectoryPointingPastTheBlockGivesWarning) {
    auto payload = exif_payload({ascii(0x010F, "Acme")}, {}, {});
    payload[10] = 0xF0;  // IFD 0 offset, little-endian: now far beyond the block
    auto m = read_ok(jpeg_with_app1(payload));
    EXPECT_FALSE(m.camera_make);
    EXPECT_THAT(m.warnings, ElementsAre("EXIF block is damaged: no readable entries"));
}

TEST(PhotoMetadata, EmptyExifBlockGivesWarning) {
    auto m = read_ok(jpeg_with_app1({'E', 'x', 'i', 'f', 0, 0}));
    EXPECT_THAT(m.warnings, ElementsAre("EXIF block is damaged: no readable entries"));
}

TEST(PhotoMetadata, RejectsDefaultOffsetBeyondFourteenHours) {
    const auto jpeg = make_test_jpeg({});
    EXPECT_TRUE(read_jpeg_metadata(jpeg, 14 * 60));
    EXPECT_TRUE(read_jpeg_metadata(jpeg, -14 * 60));
    auto result = read_jpeg_metadata(jpeg, 14 * 60 + 1);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), Errc::invalid_argument);
    EXPECT_THAT(result.error().message(), HasSubstr("841 minutes"));
}

}  // namespace
}  // namespace fieldlog::camera
