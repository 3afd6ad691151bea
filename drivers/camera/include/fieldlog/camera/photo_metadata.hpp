// Reads what an evidence photo says about itself: when and where it was taken, by which camera,
// and its size. Checks first that the bytes really are a complete JPEG.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fieldlog/error.hpp"

namespace fieldlog::camera {

struct PhotoMetadata {
    // The EXIF capture time as found, in ISO form: "2026-11-25T10:04:05", followed by the
    // camera's offset ("+08:00") when the EXIF records one.
    std::optional<std::string> capture_time_text;
    // The capture time in UTC milliseconds. Uses the EXIF offset when there is one, else the
    // caller's default offset, since most cameras record local time without a zone.
    std::optional<std::int64_t> capture_time_ms;
    // Degrees, negative south and west; metres, negative below sea level.
    std::optional<double> lat, lon, altitude_m;
    std::optional<std::string> camera_make, camera_model;
    // From the JPEG frame header, not from EXIF, which editors often leave stale.
    std::optional<int> width, height;
    // EXIF that was present but unusable, e.g. "EXIF GPS latitude 95 is out of range; position
    // ignored". A photo stays evidence when its EXIF is damaged, so these never fail the read.
    std::vector<std::string> warnings;
};

// Reads the metadata of a JPEG held in memory. Bytes that are not a complete JPEG (wrong format,
// truncated, no frame header, no end-of-image marker) give Errc::invalid_argument with a message
// saying what was found. Damaged EXIF gives warnings, never an error. Safe on arbitrary bytes.
// default_utc_offset_minutes (within ±14 hours) applies when the EXIF records no offset.
[[nodiscard]] Result<PhotoMetadata> read_jpeg_metadata(std::span<const std::uint8_t> bytes,
                                                       int default_utc_offset_minutes);

// A quick check on the first bytes of a file (FF D8 FF); read_jpeg_metadata decides for sure.
[[nodiscard]] bool looks_like_jpeg(std::span<const std::uint8_t> first_bytes);

}  // namespace fieldlog::camera
