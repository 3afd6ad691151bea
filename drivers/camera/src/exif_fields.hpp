// Reads the fields fieldlog keeps from an EXIF block, turning anything unusable into warnings.
#pragma once

#include <cstdint>
#include <span>

#include "fieldlog/camera/photo_metadata.hpp"

namespace fieldlog::camera {

// exif is an APP1 payload starting with "Exif\0\0", at most 64 KiB as a JPEG segment allows.
// Sets the capture time, position, altitude, make and model on out, or adds warnings.
void read_exif_fields(std::span<const std::uint8_t> exif, int default_utc_offset_minutes,
                      PhotoMetadata& out);

}  // namespace fieldlog::camera
