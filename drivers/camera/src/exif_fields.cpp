#include "exif_fields.hpp"

#include <libexif/exif-data.h>
#include <libexif/exif-log.h>
#include <libexif/exif-utils.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fieldlog/clock.hpp"

namespace fieldlog::camera {
namespace {

// A fuzzed block can hold thousands of bad entries; the caller needs the first few, not a flood.
constexpr std::size_t kMaxWarnings = 16;
constexpr std::size_t kMaxTextLength = 128;
// Below the Dead Sea shore and above any aircraft an inspector would photograph from.
constexpr double kMinAltitudeM = -1000.0;
constexpr double kMaxAltitudeM = 20000.0;

constexpr ExifTag tag(unsigned number) { return static_cast<ExifTag>(number); }

// Tags by number: the GPS ones are plain macros that overlap IFD 0 tags, and older libexif
// releases do not name the offset tags.
constexpr ExifTag kGpsLatitudeRef = tag(0x0001);
constexpr ExifTag kGpsLatitude = tag(0x0002);
constexpr ExifTag kGpsLongitudeRef = tag(0x0003);
constexpr ExifTag kGpsLongitude = tag(0x0004);
constexpr ExifTag kGpsAltitudeRef = tag(0x0005);
constexpr ExifTag kGpsAltitude = tag(0x0006);
constexpr ExifTag kMake = tag(0x010F);
constexpr ExifTag kModel = tag(0x0110);
constexpr ExifTag kDateTime = tag(0x0132);
constexpr ExifTag kDateTimeOriginal = tag(0x9003);
constexpr ExifTag kOffsetTime = tag(0x9010);
constexpr ExifTag kOffsetTimeOriginal = tag(0x9011);

struct ExifDataUnref {
    void operator()(ExifData* data) const { exif_data_unref(data); }
};
struct ExifLogUnref {
    void operator()(ExifLog* log) const { exif_log_unref(log); }
};

class Warnings {
public:
    explicit Warnings(std::vector<std::string>& out) : out_(out), first_(out.size()) {}

    void add(std::string message) {
        if (std::find(out_.begin() + static_cast<std::ptrdiff_t>(first_), out_.end(), message) !=
            out_.end()) {
            return;
        }
        if (out_.size() - first_ < kMaxWarnings) {
            out_.push_back(std::move(message));
        } else if (!capped_) {
            out_.push_back("further EXIF problems not listed");
            capped_ = true;
        }
    }
    bool any() const { return out_.size() > first_; }

private:
    std::vector<std::string>& out_;
    std::size_t first_;
    bool capped_ = false;
};

// Text from the file goes into warnings shown to people and into logs: keep it printable.
std::string printable(std::string_view text) {
    std::string out;
    for (char c : text.substr(0, 40)) {
        out += (c >= 0x20 && c < 0x7F) ? c : '?';
    }
    if (text.size() > 40) out += "...";
    return out;
}

std::string format_number(double value) {
    std::array<char, 64> text{};
    auto [end, ec] =
        std::to_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed, 6);
    if (ec != std::errc()) return "?";
    std::string out(text.data(), end);
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
    return out;
}

// libexif reports damage it skipped over through its log; those messages become warnings.
void collect_exif_log(ExifLog*, ExifLogCode code, const char*, const char* format, va_list args,
                      void* user) {
    if (code != EXIF_LOG_CODE_CORRUPT_DATA && code != EXIF_LOG_CODE_NO_MEMORY) return;
    std::array<char, 160> text{};
    if (std::vsnprintf(text.data(), text.size(), format, args) < 0) text[0] = '\0';
    std::string message = printable(std::string_view(text.data()));
    while (!message.empty() && (message.back() == '.' || message.back() == ' ')) {
        message.pop_back();
    }
    static_cast<Warnings*>(user)->add("EXIF block is damaged: " + message);
}

class ExifReader {
public:
    ExifReader(ExifData& data, Warnings& warnings)
        : data_(data), order_(exif_data_get_byte_order(&data)), warnings_(warnings) {}

    ExifEntry* find(ExifIfd ifd, ExifTag tag) const {
        return exif_content_get_entry(data_.ifd[ifd], tag);
    }

    // Text up to the first NUL; nothing (with a warning) when the entry is not text.
    std::optional<std::string> text(const ExifEntry& entry, std::string_view name,
                                    std::string_view consequence = "ignored") {
        if (entry.format != EXIF_FORMAT_ASCII || entry.data == nullptr) {
            warnings_.add("EXIF " + std::string(name) + " is not stored as text; " +
                          std::string(consequence));
            return std::nullopt;
        }
        std::string_view raw(reinterpret_cast<const char*>(entry.data), entry.size);
        return std::string(raw.substr(0, raw.find('\0')));
    }

    // N unsigned rationals as doubles; nothing (with a warning) on a wrong type or a zero
    // denominator.
    template <std::size_t N>
    std::optional<std::array<double, N>> rationals(const ExifEntry& entry, std::string_view name,
                                                   std::string_view consequence) {
        if (entry.format != EXIF_FORMAT_RATIONAL || entry.data == nullptr || entry.components < N ||
            entry.size < N * 8) {
            warnings_.add("EXIF " + std::string(name) + " is not " +
                          (N == 1 ? std::string("a rational") : std::to_string(N) + " rationals") +
                          "; " + std::string(consequence));
            return std::nullopt;
        }
        std::array<double, N> values{};
        for (std::size_t i = 0; i < N; ++i) {
            ExifRational r = exif_get_rational(entry.data + 8 * i, order_);
            if (r.denominator == 0) {
                warnings_.add("EXIF " + std::string(name) + " has a zero denominator; " +
                              std::string(consequence));
                return std::nullopt;
            }
            values[i] = static_cast<double>(r.numerator) / static_cast<double>(r.denominator);
        }
        return values;
    }

    Warnings& warnings() { return warnings_; }

private:
    ExifData& data_;
    ExifByteOrder order_;
    Warnings& warnings_;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "2026:11:25 10:04:05" to "2026-11-25T10:04:05". Some writers use '-' in the date or 'T'.
std::optional<std::string> iso_local_time(std::string_view text) {
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    if (text.size() != 19) return std::nullopt;
    std::string iso(text);
    for (std::size_t i : {4, 7}) {
        if (iso[i] != ':' && iso[i] != '-') return std::nullopt;
        iso[i] = '-';
    }
    if (iso[10] != ' ' && iso[10] != 'T') return std::nullopt;
    iso[10] = 'T';
    if (iso[13] != ':' || iso[16] != ':') return std::nullopt;
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18}) {
        if (!is_digit(iso[i])) return std::nullopt;
    }
    // parse_time_ms rejects impossible dates and times such as month 13 or 25:00.
    if (!parse_time_ms(iso)) return std::nullopt;
    return iso;
}

// "+08:00" or "-03:30", within ±14 hours.
bool is_utc_offset(std::string_view text) {
    if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || !is_digit(text[1]) ||
        !is_digit(text[2]) || text[3] != ':' || !is_digit(text[4]) || !is_digit(text[5])) {
        return false;
    }
    return parse_time_ms("2000-01-01T00:00" + std::string(text)).has_value();
}

bool is_blank_time(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return c == ' ' || c == ':' || c == '0' || c == '\0'; });
}

struct LocalTime {
    std::string iso;
    std::optional<std::string> offset;
};

// One date tag and the offset tag that belongs to it.
std::optional<LocalTime> read_time(ExifReader& exif, ExifTag time_tag, std::string_view time_name,
                                   ExifTag offset_tag, std::string_view offset_name) {
    ExifEntry* time_entry = exif.find(EXIF_IFD_EXIF, time_tag);
    if (time_entry == nullptr) time_entry = exif.find(EXIF_IFD_0, time_tag);
    if (time_entry == nullptr) return std::nullopt;
    auto text = exif.text(*time_entry, time_name);
    if (!text) return std::nullopt;
    if (is_blank_time(*text)) {
        exif.warnings().add("EXIF " + std::string(time_name) + " is blank; ignored");
        return std::nullopt;
    }
    auto iso = iso_local_time(*text);
    if (!iso) {
        exif.warnings().add("EXIF " + std::string(time_name) + " \"" + printable(*text) +
                            "\" is not a valid date and time; ignored");
        return std::nullopt;
    }

    LocalTime result{*iso, std::nullopt};
    ExifEntry* offset_entry = exif.find(EXIF_IFD_EXIF, offset_tag);
    if (offset_entry == nullptr) offset_entry = exif.find(EXIF_IFD_0, offset_tag);
    if (offset_entry != nullptr) {
        auto offset = exif.text(*offset_entry, offset_name, "default offset used");
        if (offset && is_utc_offset(*offset)) {
            result.offset = *offset;
        } else if (offset && !is_blank_time(*offset)) {
            exif.warnings().add("EXIF " + std::string(offset_name) + " \"" + printable(*offset) +
                                "\" is not a UTC offset; default offset used");
        }
    }
    return result;
}

void read_capture_time(ExifReader& exif, int default_utc_offset_minutes, PhotoMetadata& out) {
    // DateTimeOriginal is when the shutter fired; DateTime changes whenever software rewrites
    // the file, so it only stands in when the original is missing or unusable.
    auto time = read_time(exif, kDateTimeOriginal, "DateTimeOriginal", kOffsetTimeOriginal,
                          "OffsetTimeOriginal");
    if (!time) time = read_time(exif, kDateTime, "DateTime", kOffsetTime, "OffsetTime");
    if (!time) return;

    out.capture_time_text = time->iso + time->offset.value_or("");
    auto local_ms = parse_time_ms(*out.capture_time_text);
    if (!local_ms) return;  // iso_local_time and is_utc_offset already checked both parts
    if (time->offset) {
        out.capture_time_ms = *local_ms;
    } else {
        out.capture_time_ms =
            *local_ms - static_cast<std::int64_t>(default_utc_offset_minutes) * 60 * 1000;
    }
}

struct Axis {
    ExifTag value_tag;
    ExifTag ref_tag;
    std::string_view name;  // "latitude"
    char positive_ref;      // 'N'
    char negative_ref;      // 'S'
    double limit;           // 90
};

constexpr std::string_view kPositionIgnored = "position ignored";

// Whether the axis appears at all, and its signed value when usable.
struct AxisReading {
    bool present = false;
    std::optional<double> degrees;
};

AxisReading read_axis(ExifReader& exif, const Axis& axis) {
    ExifEntry* value = exif.find(EXIF_IFD_GPS, axis.value_tag);
    ExifEntry* ref = exif.find(EXIF_IFD_GPS, axis.ref_tag);
    AxisReading reading{value != nullptr || ref != nullptr, std::nullopt};
    if (!reading.present) return reading;
    const std::string name = "GPS " + std::string(axis.name);
    const std::string refs = std::string(1, axis.positive_ref) + "/" + axis.negative_ref;
    if (value == nullptr) {
        exif.warnings().add("EXIF " + name + " reference without a value; " +
                            std::string(kPositionIgnored));
        return reading;
    }
    auto dms = exif.rationals<3>(*value, name, kPositionIgnored);
    if (!dms) return reading;
    const double magnitude = (*dms)[0] + (*dms)[1] / 60.0 + (*dms)[2] / 3600.0;
    if (!(magnitude <= axis.limit)) {
        exif.warnings().add("EXIF " + name + " " + format_number(magnitude) + " is out of range; " +
                            std::string(kPositionIgnored));
        return reading;
    }
    // A missing hemisphere could put the photo on the other side of the planet: no guessing.
    if (ref == nullptr) {
        exif.warnings().add("EXIF " + name + " has no " + refs + " reference; " +
                            std::string(kPositionIgnored));
        return reading;
    }
    auto ref_text = exif.text(*ref, name + " reference", kPositionIgnored);
    if (!ref_text) return reading;
    if (*ref_text == std::string(1, axis.positive_ref)) {
        reading.degrees = magnitude;
    } else if (*ref_text == std::string(1, axis.negative_ref)) {
        reading.degrees = -magnitude;
    } else {
        exif.warnings().add("EXIF " + name + " reference \"" + printable(*ref_text) + "\" is not " +
                            refs + "; " + std::string(kPositionIgnored));
    }
    return reading;
}

void read_position(ExifReader& exif, PhotoMetadata& out) {
    auto lat = read_axis(exif, {kGpsLatitude, kGpsLatitudeRef, "latitude", 'N', 'S', 90.0});
    auto lon = read_axis(exif, {kGpsLongitude, kGpsLongitudeRef, "longitude", 'E', 'W', 180.0});
    if (lat.degrees && lon.degrees) {
        out.lat = lat.degrees;
        out.lon = lon.degrees;
    } else if (lat.present != lon.present) {
        exif.warnings().add(std::string("EXIF GPS ") + (lat.present ? "latitude" : "longitude") +
                            " without " + (lat.present ? "longitude" : "latitude") + "; " +
                            std::string(kPositionIgnored));
    }
}

void read_altitude(ExifReader& exif, PhotoMetadata& out) {
    ExifEntry* value = exif.find(EXIF_IFD_GPS, kGpsAltitude);
    if (value == nullptr) return;
    constexpr std::string_view kIgnored = "altitude ignored";
    auto metres = exif.rationals<1>(*value, "GPS altitude", kIgnored);
    if (!metres) return;
    double altitude = (*metres)[0];
    // The EXIF standard reads a missing reference as above sea level.
    if (ExifEntry* ref = exif.find(EXIF_IFD_GPS, kGpsAltitudeRef)) {
        const bool one_byte =
            (ref->format == EXIF_FORMAT_BYTE || ref->format == EXIF_FORMAT_UNDEFINED) &&
            ref->data != nullptr && ref->size >= 1;
        if (!one_byte || ref->data[0] > 1) {
            exif.warnings().add(
                "EXIF GPS altitude reference is neither 0 (above) nor 1 (below sea level); " +
                std::string(kIgnored));
            return;
        }
        if (ref->data[0] == 1) altitude = -altitude;
    }
    if (!(altitude >= kMinAltitudeM && altitude <= kMaxAltitudeM)) {
        exif.warnings().add("EXIF GPS altitude " + format_number(altitude) +
                            " m is out of range; " + std::string(kIgnored));
        return;
    }
    out.altitude_m = altitude;
}

std::optional<std::string> read_label(ExifReader& exif, ExifTag label_tag, std::string_view name) {
    ExifEntry* entry = exif.find(EXIF_IFD_0, label_tag);
    if (entry == nullptr) return std::nullopt;
    auto text = exif.text(*entry, name);
    if (!text) return std::nullopt;
    // Cameras pad these fields with spaces to a fixed width.
    const auto first = text->find_first_not_of(' ');
    if (first == std::string::npos) return std::nullopt;
    text->erase(text->find_last_not_of(' ') + 1);
    text->erase(0, first);
    const bool plain =
        std::all_of(text->begin(), text->end(), [](char c) { return c >= 0x20 && c < 0x7F; });
    if (!plain || text->size() > kMaxTextLength) {
        exif.warnings().add("EXIF " + std::string(name) + " \"" + printable(*text) +
                            "\" is not plain text; ignored");
        return std::nullopt;
    }
    return text;
}

std::size_t entry_count(const ExifData& data) {
    std::size_t count = 0;
    for (ExifContent* content : data.ifd) {
        if (content != nullptr) count += content->count;
    }
    return count;
}

}  // namespace

void read_exif_fields(std::span<const std::uint8_t> exif, int default_utc_offset_minutes,
                      PhotoMetadata& out) {
    Warnings warnings(out.warnings);
    // Declared before the data so that it outlives it: the data holds a reference to the log.
    std::unique_ptr<ExifLog, ExifLogUnref> log(exif_log_new());
    std::unique_ptr<ExifData, ExifDataUnref> data(exif_data_new());
    if (!log || !data) {
        warnings.add("EXIF not read: out of memory");
        return;
    }
    exif_log_set_func(log.get(), collect_exif_log, &warnings);
    exif_data_log(data.get(), log.get());
    // Keep tags this libexif does not know (OffsetTimeOriginal in older releases), and never
    // let libexif "fix" the data: that would add a default DateTime of now to a photo.
    exif_data_unset_option(data.get(), EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
    exif_data_unset_option(data.get(), EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    // A JPEG segment holds at most 65533 bytes, so the size fits libexif's unsigned int.
    exif_data_load_data(data.get(), exif.data(), static_cast<unsigned int>(exif.size()));

    if (entry_count(*data) == 0) {
        // libexif gives up silently on some damage, such as a bad TIFF header.
        if (!warnings.any()) warnings.add("EXIF block is damaged: no readable entries");
        return;
    }
    ExifReader reader(*data, warnings);
    read_capture_time(reader, default_utc_offset_minutes, out);
    read_position(reader, out);
    read_altitude(reader, out);
    out.camera_make = read_label(reader, kMake, "Make");
    out.camera_model = read_label(reader, kModel, "Model");
}

}  // namespace fieldlog::camera
