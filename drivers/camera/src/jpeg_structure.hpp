// Walks the marker segments of a JPEG to decide whether the bytes are a complete image, and keeps
// the parts the metadata reader needs.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "fieldlog/error.hpp"

namespace fieldlog::camera {

struct JpegLayout {
    int width = 0;
    // Empty when the frame header defers the height to a later DNL marker.
    std::optional<int> height;
    // The first APP1 payload that starts with "Exif\0\0"; empty when the file has none.
    std::span<const std::uint8_t> exif;
};

[[nodiscard]] Result<JpegLayout> scan_jpeg_layout(std::span<const std::uint8_t> bytes);

}  // namespace fieldlog::camera
