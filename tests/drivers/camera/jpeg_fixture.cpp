#include "jpeg_fixture.hpp"

#include <libexif/exif-data.h>
#include <libexif/exif-mem.h>
#include <libexif/exif-utils.h>

#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <stdexcept>
#include <string_view>

namespace fieldlog::testing {
namespace {

constexpr std::uint8_t kSoi = 0xD8;
constexpr std::uint8_t kEoi = 0xD9;
constexpr std::uint8_t kApp1 = 0xE1;
constexpr std::uint8_t kDqt = 0xDB;
constexpr std::uint8_t kSof0 = 0xC0;
constexpr std::uint8_t kDht = 0xC4;
constexpr std::uint8_t kSos = 0xDA;
constexpr int kMaxSide = 4096;

// The luminance Huffman tables from Annex K of the JPEG standard (ITU T.81, K.3), so that any
// decoder reads the data with tables it would itself choose.
constexpr std::array<std::uint8_t, 16> kDcCounts = {0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
constexpr std::array<std::uint8_t, 12> kDcSymbols = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
constexpr std::array<std::uint8_t, 16> kAcCounts = {0, 2, 1, 3, 3, 2, 4, 3,
                                                    5, 5, 4, 4, 0, 0, 1, 0x7D};
constexpr std::array<std::uint8_t, 162> kAcSymbols = {
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
    0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52,
    0xD1, 0xF0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25,
    0x26, 0x27, 0x28, 0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45,
    0x46, 0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64,
    0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x83,
    0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
    0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6,
    0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3,
    0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8,
    0xE9, 0xEA, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA};

// DC coefficients of an 8x8 block are 8 x (mean level - 128); quantising them by 8 makes each
// stored DC value the block's mean level minus 128.
constexpr std::uint8_t kDcQuant = 8;
constexpr std::uint8_t kAcQuant = 16;
constexpr std::uint8_t kEndOfBlock = 0x00;
constexpr int kSeedBits = 32;

struct HuffmanCode {
    std::uint32_t bits = 0;
    int length = 0;
};
using HuffmanTable = std::array<HuffmanCode, 256>;

// Canonical codes from counts per length, as a decoder derives them (T.81 Annex C).
template <std::size_t N>
HuffmanTable huffman_codes(const std::array<std::uint8_t, 16>& counts,
                           const std::array<std::uint8_t, N>& symbols) {
    HuffmanTable table{};
    std::uint32_t code = 0;
    std::size_t next = 0;
    for (int length = 1; length <= 16; ++length) {
        for (int i = 0; i < counts[static_cast<std::size_t>(length - 1)]; ++i) {
            table[symbols.at(next++)] = {code++, length};
        }
        code <<= 1;
    }
    if (next != N) throw std::logic_error("Huffman table counts do not match its symbols");
    return table;
}

class BitWriter {
public:
    explicit BitWriter(std::vector<std::uint8_t>& out) : out_(out) {}

    void put(std::uint32_t bits, int length) {
        for (int i = length - 1; i >= 0; --i) {
            pending_ = static_cast<std::uint8_t>((pending_ << 1) | ((bits >> i) & 1U));
            if (++pending_count_ == 8) flush_byte();
        }
    }
    void put(const HuffmanCode& code) { put(code.bits, code.length); }

    // The standard pads the last byte with 1 bits.
    void finish() {
        while (pending_count_ != 0) put(1, 1);
    }

private:
    void flush_byte() {
        out_.push_back(pending_);
        // A stuffed zero keeps an FF data byte from reading as a marker.
        if (pending_ == 0xFF) out_.push_back(0x00);
        pending_ = 0;
        pending_count_ = 0;
    }

    std::vector<std::uint8_t>& out_;
    std::uint8_t pending_ = 0;
    int pending_count_ = 0;
};

// Magnitude category and the extra bits that follow its code (T.81 F.1.2.1).
void put_value(BitWriter& writer, const HuffmanTable& table, std::uint8_t run, int value) {
    int category = 0;
    for (int magnitude = value < 0 ? -value : value; magnitude != 0; magnitude >>= 1) ++category;
    writer.put(table[static_cast<std::size_t>((run << 4) | category)]);
    const int extra = value >= 0 ? value : value + (1 << category) - 1;
    writer.put(static_cast<std::uint32_t>(extra), category);
}

std::uint32_t mix(std::uint32_t x) {
    x ^= x >> 16;
    x *= 0x7FEB352DU;
    x ^= x >> 15;
    x *= 0x846CA68BU;
    x ^= x >> 16;
    return x;
}

std::vector<std::uint8_t> entropy_data(const JpegFixture& fixture) {
    static const HuffmanTable dc = huffman_codes(kDcCounts, kDcSymbols);
    static const HuffmanTable ac = huffman_codes(kAcCounts, kAcSymbols);
    const int blocks = ((fixture.width + 7) / 8) * ((fixture.height + 7) / 8);
    std::vector<std::uint8_t> out;
    BitWriter writer(out);
    int previous_dc = 0;
    for (int block = 0; block < blocks; ++block) {
        const auto level = static_cast<int>(
            mix(fixture.seed * 0x9E3779B9U + static_cast<std::uint32_t>(block)) & 0xFFU);
        const int dc_value = level - 128;
        put_value(writer, dc, 0, dc_value - previous_dc);
        previous_dc = dc_value;
        if (block == 0) {
            // The seed's bits as +-1 AC coefficients: distinct seeds then differ in their pixels
            // whatever the image size, which the hashed block levels alone cannot promise.
            for (int bit = 0; bit < kSeedBits; ++bit) {
                put_value(writer, ac, 0, ((fixture.seed >> bit) & 1U) != 0 ? 1 : -1);
            }
        }
        writer.put(ac[kEndOfBlock]);
    }
    writer.finish();
    return out;
}

void put_segment(std::vector<std::uint8_t>& out, std::uint8_t marker,
                 const std::vector<std::uint8_t>& payload) {
    const std::size_t length = payload.size() + 2;
    if (length > 0xFFFF) throw std::length_error("JPEG segment longer than 65535 bytes");
    out.insert(out.end(), {0xFF, marker, static_cast<std::uint8_t>(length >> 8),
                           static_cast<std::uint8_t>(length & 0xFF)});
    out.insert(out.end(), payload.begin(), payload.end());
}

struct ExifDataUnref {
    void operator()(ExifData* data) const { exif_data_unref(data); }
};
struct ExifMemUnref {
    void operator()(ExifMem* mem) const { exif_mem_unref(mem); }
};
struct ExifEntryUnref {
    void operator()(ExifEntry* entry) const { exif_entry_unref(entry); }
};

class ExifBuilder {
public:
    ExifBuilder() : mem_(exif_mem_new_default()) {
        if (!mem_) throw std::bad_alloc();
        data_.reset(exif_data_new_mem(mem_.get()));
        if (!data_) throw std::bad_alloc();
        order_ = exif_data_get_byte_order(data_.get());
    }

    void text(ExifIfd ifd, unsigned tag, const std::string& value) {
        std::vector<std::uint8_t> bytes(value.begin(), value.end());
        bytes.push_back(0);
        add(ifd, tag, EXIF_FORMAT_ASCII, bytes.size(), bytes);
    }

    void byte(ExifIfd ifd, unsigned tag, std::vector<std::uint8_t> bytes) {
        add(ifd, tag, EXIF_FORMAT_BYTE, bytes.size(), bytes);
    }

    void rationals(ExifIfd ifd, unsigned tag, const std::vector<ExifRational>& values) {
        std::vector<std::uint8_t> bytes(values.size() * 8);
        for (std::size_t i = 0; i < values.size(); ++i) {
            exif_set_rational(bytes.data() + 8 * i, order_, values[i]);
        }
        add(ifd, tag, EXIF_FORMAT_RATIONAL, values.size(), bytes);
    }

    // The APP1 payload: "Exif\0\0" followed by the TIFF structure.
    std::vector<std::uint8_t> save() {
        unsigned char* raw = nullptr;
        unsigned int size = 0;
        exif_data_save_data(data_.get(), &raw, &size);
        std::vector<std::uint8_t> bytes(raw, raw + (raw != nullptr ? size : 0));
        exif_mem_free(mem_.get(), raw);
        if (bytes.empty()) throw std::runtime_error("libexif could not save the EXIF block");
        return bytes;
    }

private:
    void add(ExifIfd ifd, unsigned tag, ExifFormat format, std::size_t components,
             const std::vector<std::uint8_t>& bytes) {
        std::unique_ptr<ExifEntry, ExifEntryUnref> entry(exif_entry_new_mem(mem_.get()));
        if (!entry) throw std::bad_alloc();
        entry->data = static_cast<unsigned char*>(
            exif_mem_alloc(mem_.get(), static_cast<ExifLong>(bytes.size())));
        if (entry->data == nullptr) throw std::bad_alloc();
        std::memcpy(entry->data, bytes.data(), bytes.size());
        entry->size = static_cast<unsigned int>(bytes.size());
        entry->tag = static_cast<ExifTag>(tag);
        entry->format = format;
        entry->components = components;
        exif_content_add_entry(data_->ifd[ifd], entry.get());  // takes its own reference
    }

    std::unique_ptr<ExifMem, ExifMemUnref> mem_;
    std::unique_ptr<ExifData, ExifDataUnref> data_;
    ExifByteOrder order_ = EXIF_BYTE_ORDER_MOTOROLA;
};

// Whole degrees, whole minutes and seconds to 1/10000, the layout cameras use.
std::vector<ExifRational> degrees_minutes_seconds(double degrees) {
    const double magnitude = std::fabs(degrees);
    if (!std::isfinite(magnitude) || magnitude > 1e6) {
        throw std::invalid_argument("GPS coordinate too large for the fixture");
    }
    constexpr long long kPerSecond = 10'000;
    const long long total = std::llround(magnitude * 3600.0 * kPerSecond);
    const auto whole_degrees = static_cast<ExifLong>(total / (3600 * kPerSecond));
    const auto minutes = static_cast<ExifLong>(total % (3600 * kPerSecond) / (60 * kPerSecond));
    const auto seconds = static_cast<ExifLong>(total % (60 * kPerSecond));
    return {{whole_degrees, 1}, {minutes, 1}, {seconds, static_cast<ExifLong>(kPerSecond)}};
}

std::vector<std::uint8_t> exif_block(const JpegFixture& f) {
    ExifBuilder exif;
    if (f.make) exif.text(EXIF_IFD_0, 0x010F, *f.make);
    if (f.model) exif.text(EXIF_IFD_0, 0x0110, *f.model);
    if (f.exif_datetime) exif.text(EXIF_IFD_EXIF, 0x9003, *f.exif_datetime);
    if (f.exif_offset) exif.text(EXIF_IFD_EXIF, 0x9011, *f.exif_offset);
    if (f.lat || f.lon || f.altitude_m) exif.byte(EXIF_IFD_GPS, 0x0000, {2, 2, 0, 0});
    if (f.lat) {
        exif.text(EXIF_IFD_GPS, 0x0001, *f.lat < 0 ? "S" : "N");
        exif.rationals(EXIF_IFD_GPS, 0x0002, degrees_minutes_seconds(*f.lat));
    }
    if (f.lon) {
        exif.text(EXIF_IFD_GPS, 0x0003, *f.lon < 0 ? "W" : "E");
        exif.rationals(EXIF_IFD_GPS, 0x0004, degrees_minutes_seconds(*f.lon));
    }
    if (f.altitude_m) {
        const double magnitude = std::fabs(*f.altitude_m);
        if (!std::isfinite(magnitude) || magnitude > 1e7) {
            throw std::invalid_argument("altitude too large for the fixture");
        }
        exif.byte(EXIF_IFD_GPS, 0x0005, {static_cast<std::uint8_t>(*f.altitude_m < 0 ? 1 : 0)});
        exif.rationals(EXIF_IFD_GPS, 0x0006,
                       {{static_cast<ExifLong>(std::llround(magnitude * 100.0)), 100}});
    }
    return exif.save();
}

bool has_exif(const JpegFixture& f) {
    return f.exif_datetime || f.exif_offset || f.lat || f.lon || f.altitude_m || f.make || f.model;
}

}  // namespace

std::vector<std::uint8_t> make_test_jpeg(const JpegFixture& fixture) {
    if (fixture.width < 1 || fixture.width > kMaxSide || fixture.height < 1 ||
        fixture.height > kMaxSide) {
        throw std::invalid_argument("fixture width and height must be within 1..4096");
    }
    std::vector<std::uint8_t> out = {0xFF, kSoi};
    if (has_exif(fixture)) put_segment(out, kApp1, exif_block(fixture));

    std::vector<std::uint8_t> dqt(65, kAcQuant);
    dqt[0] = 0x00;  // 8-bit precision, table 0
    dqt[1] = kDcQuant;
    put_segment(out, kDqt, dqt);

    const auto w = static_cast<std::uint16_t>(fixture.width);
    const auto h = static_cast<std::uint16_t>(fixture.height);
    put_segment(out, kSof0,
                {8, static_cast<std::uint8_t>(h >> 8), static_cast<std::uint8_t>(h & 0xFF),
                 static_cast<std::uint8_t>(w >> 8), static_cast<std::uint8_t>(w & 0xFF),
                 1,     // one component: grayscale
                 1,     // component id
                 0x11,  // no subsampling
                 0});   // quantisation table 0

    std::vector<std::uint8_t> dht = {0x00};  // DC table 0
    dht.insert(dht.end(), kDcCounts.begin(), kDcCounts.end());
    dht.insert(dht.end(), kDcSymbols.begin(), kDcSymbols.end());
    dht.push_back(0x10);  // AC table 0
    dht.insert(dht.end(), kAcCounts.begin(), kAcCounts.end());
    dht.insert(dht.end(), kAcSymbols.begin(), kAcSymbols.end());
    put_segment(out, kDht, dht);

    // One component with Huffman tables 0/0, spectral selection 0..63, no approximation.
    put_segment(out, kSos, {1, 1, 0x00, 0, 63, 0});
    const auto scan = entropy_data(fixture);
    out.insert(out.end(), scan.begin(), scan.end());
    out.insert(out.end(), {0xFF, kEoi});
    return out;
}

void write_test_jpeg(const std::filesystem::path& path, const JpegFixture& fixture) {
    const auto bytes = make_test_jpeg(fixture);
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    file.close();
    if (!file) throw std::runtime_error("could not write test JPEG " + path.string());
}

}  // namespace fieldlog::testing
