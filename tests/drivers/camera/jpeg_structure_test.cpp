#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "fieldlog/camera/photo_metadata.hpp"
#include "jpeg_fixture.hpp"

namespace fieldlog::camera {
namespace {

using fieldlog::testing::JpegFixture;
using fieldlog::testing::make_test_jpeg;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::vector<std::uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

// The error message of a read that must fail with invalid_argument.
std::string rejection(const std::vector<std::uint8_t>& bytes) {
    auto result = read_jpeg_metadata(bytes, 0);
    EXPECT_FALSE(result.has_value());
    if (result) return "";
    EXPECT_EQ(result.error().code(), Errc::invalid_argument);
    return result.error().message();
}

JpegFixture full_fixture() {
    JpegFixture f;
    f.exif_datetime = "2026:11:25 10:04:05";
    f.exif_offset = "+08:00";
    f.lat = -33.8688;
    f.lon = 151.2093;
    f.altitude_m = 58;
    f.make = "Acme";
    f.model = "Inspector 3";
    return f;
}

// Offset of the first segment with this marker, found by walking the segments after SOI.
std::size_t segment_offset(const std::vector<std::uint8_t>& jpeg, std::uint8_t marker) {
    std::size_t pos = 2;
    while (pos + 4 <= jpeg.size() && jpeg[pos] == 0xFF) {
        if (jpeg[pos + 1] == marker) return pos;
        pos += 2 + ((std::size_t{jpeg[pos + 2]} << 8) | jpeg[pos + 3]);
    }
    ADD_FAILURE() << "no segment FF " << std::hex << int{marker};
    return 0;
}

TEST(JpegStructure, RejectsEmptyFile) { EXPECT_EQ(rejection({}), "not a JPEG: file is empty"); }

TEST(JpegStructure, RejectsPngAndNamesIt) {
    EXPECT_EQ(rejection({0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13}),
              "not a JPEG: starts with 89 50 4E 47 (a PNG image)");
}

TEST(JpegStructure, RejectsTextFileAndNamesIt) {
    EXPECT_EQ(rejection(bytes_of("Site 14: outflow pipe, photo to follow.\n")),
              "not a JPEG: starts with 53 69 74 65 (plain text)");
}

TEST(JpegStructure, NamesOtherCommonFormats) {
    const std::vector<std::pair<std::vector<std::uint8_t>, std::string>> cases = {
        {bytes_of("GIF89a\x01\x00"), "(a GIF image)"},
        {bytes_of("%PDF-1.7\n"), "(a PDF document)"},
        {{'P', 'K', 3, 4, 20, 0, 0, 0}, "(a ZIP archive)"},
        {{'I', 'I', '*', 0, 8, 0, 0, 0}, "(a TIFF image)"},
        {{0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c', 0, 0}, "(a HEIC/HEIF image)"},
        {{'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P'}, "(a WebP image)"},
        {{0x00, 0x01, 0x02, 0x03, 0x04}, "(an unrecognised format)"},
        {{0xFF}, "starts with FF (an unrecognised format)"},
        {{0xFE, 0xFF, 0x00, 'a'}, "(an unrecognised format)"},
        {bytes_of("Gr\xC3\xB6\xC3\x9F"
                  "e der Einleitung"),
         "(plain text)"},
    };
    for (const auto& [bytes, name] : cases) {
        auto message = rejection(bytes);
        EXPECT_THAT(message, StartsWith("not a JPEG: starts with "));
        EXPECT_THAT(message, HasSubstr(name));
    }
}

TEST(JpegStructure, RejectsJpegTruncatedAtAnyLength) {
    const auto jpeg = make_test_jpeg(full_fixture());
    ASSERT_TRUE(read_jpeg_metadata(jpeg, 0));
    ASSERT_LT(jpeg.size(), 4096U);  // keeps the loop small
    for (std::size_t cut = 2; cut < jpeg.size(); ++cut) {
        const std::vector<std::uint8_t> prefix(jpeg.begin(),
                                               jpeg.begin() + static_cast<std::ptrdiff_t>(cut));
        EXPECT_THAT(rejection(prefix), StartsWith("truncated JPEG")) << "cut at " << cut;
    }
    const std::vector<std::uint8_t> inside_exif(jpeg.begin(), jpeg.begin() + 40);
    EXPECT_EQ(rejection(inside_exif), "truncated JPEG: segment at offset 2 runs past the end");
    const std::vector<std::uint8_t> inside_scan(jpeg.begin(), jpeg.end() - 3);
    EXPECT_EQ(rejection(inside_scan),
              "truncated JPEG: the image data does not end with an end-of-image marker (FF D9)");
}

TEST(JpegStructure, AcceptsTrailingZeroPadding) {
    auto jpeg = make_test_jpeg({});
    jpeg.resize(jpeg.size() + 100, 0);
    EXPECT_TRUE(read_jpeg_metadata(jpeg, 0));
}

TEST(JpegStructure, RejectsDataAfterEndOfImage) {
    auto jpeg = make_test_jpeg({});
    jpeg.insert(jpeg.end(), {'j', 'u', 'n', 'k'});
    EXPECT_THAT(rejection(jpeg), HasSubstr("does not end with an end-of-image marker"));
}

TEST(JpegStructure, RejectsJpegWithoutFrameHeader) {
    auto jpeg = make_test_jpeg({});
    const std::size_t sof = segment_offset(jpeg, 0xC0);
    const std::size_t length = (std::size_t{jpeg[sof + 2]} << 8) | jpeg[sof + 3];
    jpeg.erase(jpeg.begin() + static_cast<std::ptrdiff_t>(sof),
               jpeg.begin() + static_cast<std::ptrdiff_t>(sof + 2 + length));
    EXPECT_THAT(rejection(jpeg), HasSubstr("comes before any frame header"));
}

TEST(JpegStructure, RejectsMalformedFrameHeader) {
    auto jpeg = make_test_jpeg({});
    const std::size_t sof = segment_offset(jpeg, 0xC0);
    jpeg[sof + 9] = 0;  // component count
    EXPECT_EQ(rejection(jpeg),
              "not a JPEG: malformed frame header at offset " + std::to_string(sof));
    jpeg[sof + 9] = 1;
    jpeg[sof + 7] = 0;  // width, both bytes
    jpeg[sof + 8] = 0;
    EXPECT_THAT(rejection(jpeg), HasSubstr("has zero width"));
}

TEST(JpegStructure, RejectsSegmentWithInvalidLength) {
    auto jpeg = make_test_jpeg({});
    jpeg[4] = 0;
    jpeg[5] = 1;
    EXPECT_EQ(rejection(jpeg), "not a JPEG: segment at offset 2 has invalid length 1");
}

TEST(JpegStructure, RejectsMissingMarker) {
    auto jpeg = make_test_jpeg({});
    jpeg[2] = 0x12;
    EXPECT_EQ(rejection(jpeg), "not a JPEG: expected a marker at offset 2, found 0x12");
}

TEST(JpegStructure, RejectsEndOfImageBeforeImageData) {
    EXPECT_EQ(rejection({0xFF, 0xD8, 0xFF, 0xD9}),
              "not a JPEG: unexpected marker FF D9 at offset 2 before the image data");
}

TEST(JpegStructure, LooksLikeJpegChecksFirstThreeBytes) {
    const auto jpeg = make_test_jpeg({});
    EXPECT_TRUE(looks_like_jpeg(jpeg));
    EXPECT_TRUE(looks_like_jpeg(std::vector<std::uint8_t>{0xFF, 0xD8, 0xFF}));
    EXPECT_FALSE(looks_like_jpeg(std::vector<std::uint8_t>{0xFF, 0xD8}));
    EXPECT_FALSE(looks_like_jpeg(std::vector<std::uint8_t>{0x89, 'P', 'N', 'G'}));
    EXPECT_FALSE(looks_like_jpeg({}));
}

// Damaged EXIF never fails the read, whatever the damage.
TEST(JpegStructure, AcceptsAnyDamageInsideExif) {
    const auto clean = make_test_jpeg(full_fixture());
    const std::size_t exif_begin = 12;  // after FF D8, FF E1, length and "Exif\0\0"
    const std::size_t exif_end = 4 + ((std::size_t{clean[4]} << 8) | clean[5]);
    std::mt19937 random(20261125);
    for (int round = 0; round < 2000; ++round) {
        auto jpeg = clean;
        const int flips = 1 + round % 12;
        for (int i = 0; i < flips; ++i) {
            std::uniform_int_distribution<std::size_t> at(exif_begin, exif_end - 1);
            jpeg[at(random)] = static_cast<std::uint8_t>(random());
        }
        auto result = read_jpeg_metadata(jpeg, 0);
        ASSERT_TRUE(result) << "round " << round << ": " << result.error().message();
        EXPECT_EQ(result->width, 16);
        EXPECT_LE(result->warnings.size(), 17U);
    }
}

// Damage anywhere gives either metadata or a clean invalid_argument; the sanitizers check the
// reads along the way.
TEST(JpegStructure, SurvivesDamageAnywhere) {
    const auto clean = make_test_jpeg(full_fixture());
    std::mt19937 random(7);
    int rejected = 0;
    for (int round = 0; round < 2000; ++round) {
        auto jpeg = clean;
        const int flips = 1 + round % 6;
        for (int i = 0; i < flips; ++i) {
            std::uniform_int_distribution<std::size_t> at(0, jpeg.size() - 1);
            jpeg[at(random)] = static_cast<std::uint8_t>(random());
        }
        if (round % 3 == 0) {
            std::uniform_int_distribution<std::size_t> length(0, jpeg.size());
            jpeg.resize(length(random));
        }
        auto result = read_jpeg_metadata(jpeg, 0);
        if (!result) {
            ++rejected;
            EXPECT_EQ(result.error().code(), Errc::invalid_argument);
            EXPECT_FALSE(result.error().message().empty());
        }
    }
    EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace fieldlog::camera
