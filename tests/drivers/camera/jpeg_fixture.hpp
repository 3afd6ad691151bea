// Small, real, decodable JPEG photos for tests, with whichever EXIF fields a test asks for.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fieldlog::testing {

struct JpegFixture {
    std::optional<std::string> exif_datetime;  // DateTimeOriginal, "2026:11:25 10:04:05"
    std::optional<std::string> exif_offset;    // OffsetTimeOriginal, "+08:00"
    // Written as EXIF GPS rationals with N/S, E/W and above/below sea level references.
    // Out-of-range values are written as given, so tests can check how readers reject them.
    std::optional<double> lat, lon, altitude_m;
    std::optional<std::string> make, model;
    // Varies the pixel data: distinct seeds give distinct bytes, and so distinct hashes.
    std::uint32_t seed = 0;
    int width = 16, height = 16;  // 1..4096
};

// A baseline grayscale JPEG: SOI, APP1 Exif (only when an EXIF field is set), DQT, SOF0, DHT,
// SOS with entropy-coded data, EOI. The same fixture always gives the same bytes.
// Throws std::invalid_argument for sizes outside 1..4096.
std::vector<std::uint8_t> make_test_jpeg(const JpegFixture& fixture);

// Writes make_test_jpeg(fixture) to path; throws std::runtime_error if the write fails.
void write_test_jpeg(const std::filesystem::path& path, const JpegFixture& fixture);

}  // namespace fieldlog::testing
