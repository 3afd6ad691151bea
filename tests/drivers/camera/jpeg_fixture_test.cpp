#include "jpeg_fixture.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

#include "temp_dir.hpp"

namespace fieldlog::testing {
namespace {

using ::testing::ElementsAre;

// What a baseline decoder recovers from a fixture's scan.
struct DecodedScan {
    int width = 0, height = 0;
    std::vector<int> dc;                        // each block's DC value, in order
    std::vector<std::pair<int, int>> first_ac;  // block 0's (index, value) AC coefficients
};

// A small baseline Huffman decoder that reads its tables from the file's own DHT segment, so
// that it checks the fixture's data against what it declares, as djpeg would.
class ScanDecoder {
public:
    explicit ScanDecoder(const std::vector<std::uint8_t>& jpeg) : jpeg_(jpeg) {}

    DecodedScan decode() {
        DecodedScan out;
        std::size_t pos = 2;
        for (;;) {
            if (pos + 4 > jpeg_.size() || jpeg_[pos] != 0xFF) fail("bad segment");
            const std::uint8_t marker = jpeg_[pos + 1];
            const std::size_t length = (std::size_t{jpeg_[pos + 2]} << 8) | jpeg_[pos + 3];
            const std::size_t body = pos + 4;
            if (marker == 0xC4) read_tables(body, pos + 2 + length);
            if (marker == 0xC0) {
                out.height = (jpeg_[body + 1] << 8) | jpeg_[body + 2];
                out.width = (jpeg_[body + 3] << 8) | jpeg_[body + 4];
            }
            pos += 2 + length;
            if (marker == 0xDA) break;
        }
        if (jpeg_.size() < pos + 2 || jpeg_[jpeg_.size() - 2] != 0xFF || jpeg_.back() != 0xD9) {
            fail("no EOI");
        }
        for (std::size_t i = pos; i < jpeg_.size() - 2; ++i) {
            scan_.push_back(jpeg_[i]);
            if (jpeg_[i] == 0xFF) {
                if (jpeg_[++i] != 0x00) fail("marker inside the scan");
            }
        }
        const int blocks = ((out.width + 7) / 8) * ((out.height + 7) / 8);
        int predictor = 0;
        for (int block = 0; block < blocks; ++block) {
            predictor += extend(decode_symbol(dc_));
            out.dc.push_back(predictor);
            for (int k = 1; k < 64;) {
                const int rs = decode_symbol(ac_);
                const int run = rs >> 4, size = rs & 15;
                if (size == 0 && run != 15) break;  // end of block
                k += run;
                if (size != 0 && block == 0) out.first_ac.emplace_back(k, extend(size));
                if (size != 0 && block != 0) extend(size);
                k += size == 0 ? 16 - run : 1;
            }
        }
        // Only the 1-bit padding of the last byte may remain.
        while (bit_ % 8 != 0) {
            if (next_bit() != 1) fail("padding is not 1 bits");
        }
        if (bit_ / 8 != scan_.size()) fail("data left after the last block");
        return out;
    }

private:
    using Table = std::map<std::pair<int, int>, int>;  // (length, code) -> symbol

    [[noreturn]] static void fail(const std::string& what) { throw std::runtime_error(what); }

    void read_tables(std::size_t pos, std::size_t end) {
        while (pos < end) {
            const std::uint8_t id = jpeg_[pos++];
            Table& table = (id >> 4) == 0 ? dc_ : ac_;
            std::size_t symbol = pos + 16;
            int code = 0;
            for (int length = 1; length <= 16; ++length) {
                for (int i = 0; i < jpeg_[pos + static_cast<std::size_t>(length) - 1]; ++i) {
                    table[{length, code++}] = jpeg_[symbol++];
                }
                code <<= 1;
            }
            pos = symbol;
        }
    }

    int next_bit() {
        if (bit_ / 8 >= scan_.size()) fail("scan data ends early");
        const int bit = (scan_[bit_ / 8] >> (7 - bit_ % 8)) & 1;
        ++bit_;
        return bit;
    }

    int decode_symbol(const Table& table) {
        int code = 0;
        for (int length = 1; length <= 16; ++length) {
            code = (code << 1) | next_bit();
            auto found = table.find({length, code});
            if (found != table.end()) return found->second;
        }
        fail("no Huffman code matches");
    }

    // Reads a size-bit magnitude as a signed value (T.81 F.2.2.1).
    int extend(int size) {
        int v = 0;
        for (int i = 0; i < size; ++i) v = (v << 1) | next_bit();
        return size > 0 && v < (1 << (size - 1)) ? v - (1 << size) + 1 : v;
    }

    const std::vector<std::uint8_t>& jpeg_;
    std::vector<std::uint8_t> scan_;
    std::size_t bit_ = 0;
    Table dc_, ac_;
};

TEST(JpegFixture, ScanDecodesWithTheTablesItDeclares) {
    for (auto [width, height] : {std::pair{16, 16}, {8, 8}, {37, 21}, {1, 1}}) {
        for (std::uint32_t seed : {0U, 1U, 0xDEADBEEFU}) {
            JpegFixture f;
            f.seed = seed;
            f.width = width;
            f.height = height;
            const auto decoded = ScanDecoder(make_test_jpeg(f)).decode();
            EXPECT_EQ(decoded.width, width);
            EXPECT_EQ(decoded.height, height);
            EXPECT_EQ(decoded.dc.size(),
                      static_cast<std::size_t>(((width + 7) / 8) * ((height + 7) / 8)));
            for (int dc : decoded.dc) {
                EXPECT_TRUE(dc >= -128 && dc <= 127) << dc;
            }
            // Block 0 carries the seed's bits as +-1 in AC coefficients 1..32.
            ASSERT_EQ(decoded.first_ac.size(), 32U);
            for (int bit = 0; bit < 32; ++bit) {
                const int expected = ((seed >> bit) & 1U) != 0 ? 1 : -1;
                EXPECT_EQ(decoded.first_ac[static_cast<std::size_t>(bit)],
                          std::make_pair(bit + 1, expected));
            }
        }
    }
}

TEST(JpegFixture, DistinctSeedsGiveDistinctBytes) {
    for (int side : {16, 8}) {
        std::set<std::vector<std::uint8_t>> seen;
        for (std::uint32_t seed = 0; seed < 100; ++seed) {
            JpegFixture f;
            f.seed = seed;
            f.width = side;
            f.height = side;
            seen.insert(make_test_jpeg(f));
        }
        EXPECT_EQ(seen.size(), 100U) << side << "x" << side;
    }
}

TEST(JpegFixture, SameFixtureGivesSameBytes) {
    JpegFixture f;
    f.seed = 42;
    f.exif_datetime = "2026:11:25 10:04:05";
    f.lat = 1.5;
    f.lon = 2.5;
    EXPECT_EQ(make_test_jpeg(f), make_test_jpeg(f));
}

TEST(JpegFixture, WritesExifOnlyWhenAFieldIsSet) {
    const auto plain = make_test_jpeg({});
    EXPECT_THAT(std::vector<std::uint8_t>(plain.begin(), plain.begin() + 4),
                ElementsAre(0xFF, 0xD8, 0xFF, 0xDB));
    JpegFixture f;
    f.model = "X";
    const auto with_exif = make_test_jpeg(f);
    EXPECT_THAT(
        std::vector<std::uint8_t>(with_exif.begin(), with_exif.begin() + 12),
        ElementsAre(0xFF, 0xD8, 0xFF, 0xE1, ::testing::_, ::testing::_, 'E', 'x', 'i', 'f', 0, 0));
}

TEST(JpegFixture, WriteTestJpegWritesTheSameBytes) {
    TempDir dir;
    JpegFixture f;
    f.seed = 7;
    write_test_jpeg(dir / "photo.jpg", f);
    std::ifstream file(dir / "photo.jpg", std::ios::binary);
    const std::vector<std::uint8_t> written((std::istreambuf_iterator<char>(file)),
                                            std::istreambuf_iterator<char>());
    EXPECT_EQ(written, make_test_jpeg(f));
    EXPECT_THROW(write_test_jpeg(dir / "missing" / "photo.jpg", f), std::runtime_error);
}

TEST(JpegFixture, RejectsSizesOutsideRange) {
    JpegFixture f;
    f.width = 0;
    EXPECT_THROW(static_cast<void>(make_test_jpeg(f)), std::invalid_argument);
    f.width = 16;
    f.height = 4097;
    EXPECT_THROW(static_cast<void>(make_test_jpeg(f)), std::invalid_argument);
}

}  // namespace
}  // namespace fieldlog::testing
