#include "jpeg_structure.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <string_view>

namespace fieldlog::camera {
namespace {

constexpr std::uint8_t kMarkerPrefix = 0xFF;
constexpr std::uint8_t kSoi = 0xD8;
constexpr std::uint8_t kEoi = 0xD9;
constexpr std::uint8_t kSos = 0xDA;
constexpr std::uint8_t kApp1 = 0xE1;
constexpr std::uint8_t kTem = 0x01;
constexpr std::array<std::uint8_t, 6> kExifHeader = {'E', 'x', 'i', 'f', 0, 0};

bool starts_with(std::span<const std::uint8_t> bytes, std::string_view magic, std::size_t at = 0) {
    if (bytes.size() < at + magic.size()) return false;
    for (std::size_t i = 0; i < magic.size(); ++i) {
        if (bytes[at + i] != static_cast<std::uint8_t>(magic[i])) return false;
    }
    return true;
}

bool is_frame_header(std::uint8_t marker) {
    // SOF0..SOF15, except C4 (DHT), C8 (reserved) and CC (DAC), which share the range.
    return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

bool is_restart(std::uint8_t marker) { return marker >= 0xD0 && marker <= 0xD7; }

// Notes saved under a .jpg name are a likely wrong upload, so text gets a name of its own.
// Text here is UTF-8 without control characters other than whitespace.
bool looks_like_text(std::span<const std::uint8_t> bytes) {
    const auto head = bytes.first(std::min<std::size_t>(bytes.size(), 512));
    std::size_t i = 0;
    while (i < head.size()) {
        const std::uint8_t b = head[i];
        if (b < 0x80) {
            const bool space = b == '\t' || b == '\n' || b == '\r' || b == '\f';
            if ((b < 0x20 && !space) || b == 0x7F) return false;
            ++i;
            continue;
        }
        const std::size_t continuation = (b >= 0xC2 && b <= 0xDF)   ? 1
                                         : (b >= 0xE0 && b <= 0xEF) ? 2
                                         : (b >= 0xF0 && b <= 0xF4) ? 3
                                                                    : 0;
        if (continuation == 0) return false;
        for (std::size_t k = 1; k <= continuation; ++k) {
            // A character cut by the end of the window is fine; one cut by the end of the file
            // is not.
            if (i + k >= head.size()) return head.size() < bytes.size();
            if ((head[i + k] & 0xC0) != 0x80) return false;
        }
        i += continuation + 1;
    }
    return true;
}

std::string_view guess_format(std::span<const std::uint8_t> bytes) {
    if (starts_with(bytes, "\x89PNG")) return "a PNG image";
    if (starts_with(bytes, "GIF8")) return "a GIF image";
    if (starts_with(bytes, "%PDF")) return "a PDF document";
    if (starts_with(bytes, std::string_view("PK\x03\x04", 4)) ||
        starts_with(bytes, std::string_view("PK\x05\x06", 4))) {
        return "a ZIP archive";
    }
    if (starts_with(bytes, std::string_view("II*\0", 4)) ||
        starts_with(bytes, std::string_view("MM\0*", 4))) {
        return "a TIFF image";
    }
    if (starts_with(bytes, "RIFF") && starts_with(bytes, "WEBP", 8)) return "a WebP image";
    // Phones default to HEIC, so this is the likeliest non-JPEG photo an inspector sends.
    if (starts_with(bytes, "ftyp", 4)) {
        for (std::string_view brand : {"heic", "heix", "hevc", "hevx", "heim", "heis", "mif1"}) {
            if (starts_with(bytes, brand, 8)) return "a HEIC/HEIF image";
        }
        if (starts_with(bytes, "avif", 8)) return "an AVIF image";
        return "an MP4/QuickTime file";
    }
    if (looks_like_text(bytes)) return "plain text";
    return "an unrecognised format";
}

// "D9", as markers are written in the JPEG standard.
std::string hex_byte(std::uint8_t b) {
    char text[4];
    std::snprintf(text, sizeof text, "%02X", b);
    return text;
}

Error not_a_jpeg(std::span<const std::uint8_t> bytes) {
    std::string hex;
    for (std::size_t i = 0; i < std::min<std::size_t>(bytes.size(), 4); ++i) {
        if (i > 0) hex += ' ';
        hex += hex_byte(bytes[i]);
    }
    return Error(Errc::invalid_argument,
                 "not a JPEG: starts with " + hex + " (" + std::string(guess_format(bytes)) + ")");
}

Error invalid(std::string message) { return Error(Errc::invalid_argument, std::move(message)); }

}  // namespace

Result<JpegLayout> scan_jpeg_layout(std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) return invalid("not a JPEG: file is empty");
    if (bytes.size() < 2 || bytes[0] != kMarkerPrefix || bytes[1] != kSoi) {
        return not_a_jpeg(bytes);
    }

    JpegLayout layout;
    bool have_frame = false;
    std::size_t pos = 2;
    // Every step either returns or moves pos forward by at least one byte, so this ends.
    for (;;) {
        if (pos >= bytes.size()) {
            return invalid("truncated JPEG: file ends at offset " + std::to_string(pos) +
                           " before the image data");
        }
        const std::size_t marker_at = pos;
        if (bytes[pos] != kMarkerPrefix) {
            return invalid("not a JPEG: expected a marker at offset " + std::to_string(pos) +
                           ", found 0x" + hex_byte(bytes[pos]));
        }
        // A marker may be preceded by any number of FF fill bytes.
        while (pos < bytes.size() && bytes[pos] == kMarkerPrefix) ++pos;
        if (pos >= bytes.size()) {
            return invalid("truncated JPEG: file ends at offset " + std::to_string(pos) +
                           " inside a marker");
        }
        const std::uint8_t marker = bytes[pos++];
        if (marker == kTem || is_restart(marker)) continue;  // standalone, no length
        if (marker == 0x00 || marker == kSoi || marker == kEoi) {
            return invalid("not a JPEG: unexpected marker FF " + hex_byte(marker) + " at offset " +
                           std::to_string(marker_at) + " before the image data");
        }

        if (bytes.size() - pos < 2) {
            return invalid("truncated JPEG: segment at offset " + std::to_string(marker_at) +
                           " runs past the end");
        }
        const std::size_t length = (std::size_t{bytes[pos]} << 8) | bytes[pos + 1];
        if (length < 2) {
            return invalid("not a JPEG: segment at offset " + std::to_string(marker_at) +
                           " has invalid length " + std::to_string(length));
        }
        if (bytes.size() - pos < length) {
            return invalid("truncated JPEG: segment at offset " + std::to_string(marker_at) +
                           " runs past the end");
        }
        const auto payload = bytes.subspan(pos + 2, length - 2);
        pos += length;

        if (is_frame_header(marker) && !have_frame) {
            // P (1), Y (2), X (2), Nf (1), then 3 bytes per component.
            if (payload.size() < 6 || payload[5] == 0 ||
                payload.size() < 6 + std::size_t{3} * payload[5]) {
                return invalid("not a JPEG: malformed frame header at offset " +
                               std::to_string(marker_at));
            }
            const int height = (payload[1] << 8) | payload[2];
            const int width = (payload[3] << 8) | payload[4];
            if (width == 0) {
                return invalid("not a JPEG: frame header at offset " + std::to_string(marker_at) +
                               " has zero width");
            }
            layout.width = width;
            if (height != 0) layout.height = height;
            have_frame = true;
        } else if (marker == kApp1 && layout.exif.empty() && payload.size() >= kExifHeader.size() &&
                   std::equal(kExifHeader.begin(), kExifHeader.end(), payload.begin())) {
            layout.exif = payload;
        } else if (marker == kSos) {
            if (!have_frame) {
                return invalid("not a JPEG: image data at offset " + std::to_string(marker_at) +
                               " comes before any frame header");
            }
            break;
        }
    }

    // The entropy-coded data is not decoded; a complete file ends with EOI. Some writers pad
    // files with zeros, and multi-picture files append further images that end with EOI too.
    std::size_t end = bytes.size();
    while (end > pos && bytes[end - 1] == 0) --end;
    if (end - pos < 2 || bytes[end - 2] != kMarkerPrefix || bytes[end - 1] != kEoi) {
        return invalid(
            "truncated JPEG: the image data does not end with an end-of-image marker (FF D9)");
    }
    return layout;
}

}  // namespace fieldlog::camera
