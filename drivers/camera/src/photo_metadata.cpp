#include "fieldlog/camera/photo_metadata.hpp"

#include <string>

#include "exif_fields.hpp"
#include "jpeg_structure.hpp"

namespace fieldlog::camera {

namespace {
// Real zones run from -12:00 to +14:00; anything beyond is a caller's unit mistake.
constexpr int kMaxOffsetMinutes = 14 * 60;
}  // namespace

Result<PhotoMetadata> read_jpeg_metadata(std::span<const std::uint8_t> bytes,
                                         int default_utc_offset_minutes) {
    if (default_utc_offset_minutes < -kMaxOffsetMinutes ||
        default_utc_offset_minutes > kMaxOffsetMinutes) {
        return Error(Errc::invalid_argument, "default UTC offset of " +
                                                 std::to_string(default_utc_offset_minutes) +
                                                 " minutes is outside ±14 hours");
    }
    auto layout = scan_jpeg_layout(bytes);
    if (!layout) return layout.error();

    PhotoMetadata metadata;
    metadata.width = layout->width;
    metadata.height = layout->height;
    if (!layout->exif.empty()) {
        read_exif_fields(layout->exif, default_utc_offset_minutes, metadata);
    }
    return metadata;
}

bool looks_like_jpeg(std::span<const std::uint8_t> first_bytes) {
    return first_bytes.size() >= 3 && first_bytes[0] == 0xFF && first_bytes[1] == 0xD8 &&
           first_bytes[2] == 0xFF;
}

}  // namespace fieldlog::camera
