// Builds NMEA sentences with correct checksums, so each test states only the fields it is about.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace fieldlog::gnss::testing {

// The two hex digits of the XOR of every character between '$' and '*'.
inline std::string checksum_of(std::string_view body) {
    std::uint8_t sum = 0;
    for (char c : body) sum = static_cast<std::uint8_t>(sum ^ static_cast<std::uint8_t>(c));
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02X", static_cast<unsigned>(sum));
    return hex;
}

// "$" body "*hh" and the line end.
inline std::string nmea(std::string_view body, std::string_view line_end = "\r\n") {
    return "$" + std::string(body) + "*" + checksum_of(body) + std::string(line_end);
}

// The same with a checksum one off.
inline std::string nmea_bad_checksum(std::string_view body) {
    std::string good = checksum_of(body);
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02X",
                  static_cast<unsigned>((std::stoul(good, nullptr, 16) + 1U) & 0xFFU));
    return "$" + std::string(body) + "*" + hex + "\r\n";
}

// One second of output from a u-blox receiver in NMEA 4.10 mode (GN talkers, GSA system ids,
// GSV signal ids) at an outfall in Wuhan, 2026-11-25 08:35:59 UTC: 30.585390 N, 114.309463 E,
// 23.4 m, 12 satellites, HDOP 0.78.
inline std::string ublox_epoch() {
    return nmea("GNRMC,083559.00,A,3035.12340,N,11418.56780,E,0.012,,251126,,,A,V") +
           nmea("GNVTG,,T,,M,0.012,N,0.022,K,A") +
           nmea("GNGGA,083559.00,3035.12340,N,11418.56780,E,1,12,0.78,23.4,M,-10.2,M,,") +
           nmea("GNGSA,A,3,02,05,13,15,18,20,29,,,,,,1.32,0.78,1.07,1") +
           nmea("GNGSA,A,3,65,66,72,,,,,,,,,,1.32,0.78,1.07,2") +
           nmea("GPGSV,2,1,07,02,35,045,38,05,60,120,42,13,20,300,35,15,45,210,40,1") +
           nmea("GPGSV,2,2,07,18,10,080,30,20,70,330,44,29,25,170,39,1") +
           nmea("GLGSV,1,1,03,65,30,040,33,66,55,100,41,72,15,260,28,1") +
           nmea("GNGLL,3035.12340,N,11418.56780,E,083559.00,A,A");
}
inline constexpr double kEpochLat = 30.0 + 35.1234 / 60.0;
inline constexpr double kEpochLon = 114.0 + 18.5678 / 60.0;
inline constexpr std::int64_t kEpochTimeMs = 1795595759000;  // 2026-11-25T08:35:59Z

}  // namespace fieldlog::gnss::testing
