// libFuzzer target for the NMEA parser, which reads bytes from a device anyone can plug in.
// Each input is fed twice: whole, and in pieces whose sizes follow from the input itself. The two
// parsers must end in the same state (the result cannot depend on how reads split the bytes),
// and what they report must stay within what NMEA can say.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fieldlog/gnss/nmea_parser.hpp"

namespace {

using fieldlog::gnss::NmeaParser;
using fieldlog::gnss::NmeaState;

void check(bool condition) {
    if (!condition) std::abort();
}

void check_in_range(const NmeaState& s) {
    if (s.lat_deg) check(std::isfinite(*s.lat_deg) && std::fabs(*s.lat_deg) <= 90.0);
    if (s.lon_deg) check(std::isfinite(*s.lon_deg) && std::fabs(*s.lon_deg) <= 180.0);
    check(s.lat_deg.has_value() == s.lon_deg.has_value());
    if (s.time_of_day_ms) check(*s.time_of_day_ms >= 0 && *s.time_of_day_ms < 86'400'000);
    check(s.quality >= 0 && s.quality <= 8);
    if (s.quality != 0) check(s.lat_deg && s.time_of_day_ms);
    check(s.satellites_used >= 0 && s.satellites_used <= 99);
    if (s.hdop) check(*s.hdop > 0.0 && *s.hdop <= 100.0);
    if (s.altitude_m) check(std::isfinite(*s.altitude_m));
    if (s.rmc_utc_ms) check(*s.rmc_utc_ms >= 0);  // dates start in 1980
    if (s.fix_mode) check(*s.fix_mode >= 1 && *s.fix_mode <= 3);
    for (const auto& used : s.used_by_system) check(used.count <= used.ids.size());
    check(s.satellites_in_view() >= 0 && s.satellites_in_view() <= 5 * 99);
    if (auto t = s.gga_utc_ms(); t && s.rmc_utc_ms) {
        check(std::llabs(*t - *s.rmc_utc_ms) <= 86'400'000 / 2);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);

    NmeaParser whole;
    const std::size_t whole_accepted = whole.feed(bytes);

    // Piece sizes from a small generator seeded by the input, 1 to 64 bytes each.
    NmeaParser pieces;
    std::size_t pieces_accepted = 0;
    std::uint32_t seed = static_cast<std::uint32_t>(size) * 2654435761U;
    if (size > 0) seed ^= data[size - 1];
    while (!bytes.empty()) {
        seed = seed * 1664525U + 1013904223U;
        std::size_t piece = std::min<std::size_t>(1 + (seed >> 26), bytes.size());
        pieces_accepted += pieces.feed(bytes.substr(0, piece));
        bytes.remove_prefix(piece);
        check_in_range(pieces.state());
    }

    check(whole.state() == pieces.state());
    check(whole.stats() == pieces.stats());
    check(whole_accepted == pieces_accepted);
    check(whole.stats().accepted == whole_accepted);
    check_in_range(whole.state());

    // A clean sentence after anything at all is read (the line end may complete a sentence
    // left open at the end of the input, hence "at least").
    const std::uint64_t before = whole.stats().accepted;
    whole.feed("\r\n$GPGSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1*39\r\n");
    check(whole.stats().accepted >= before + 1);
    check(whole.state().fix_mode == 3 && whole.state().pdop == 2.5);
    return 0;
}
