// Field syntax of NMEA 0183: each reader takes one field as sent and gives a value or the reason
// it is unusable. Syntax errors are bad_field, impossible values out_of_range. Numbers are read
// without the C locale, whose decimal point may not be '.'.
#pragma once

#include <cstdint>
#include <string_view>

#include "fieldlog/gnss/nmea_parser.hpp"

namespace fieldlog::gnss::detail {

// A value or the reason there is none.
template <class T>
class Parsed {
public:
    Parsed(T value) : value_(value), ok_(true) {}  // NOLINT: implicit like std::expected
    Parsed(NmeaError error) : error_(error) {}     // NOLINT

    explicit operator bool() const { return ok_; }
    const T& operator*() const { return value_; }
    NmeaError error() const { return error_; }

private:
    T value_{};
    NmeaError error_ = NmeaError::bad_field;
    bool ok_ = false;
};

inline constexpr std::int64_t kMsPerDay = 86'400'000;

// Decimal digits only, at most max_digits of them.
Parsed<std::uint32_t> read_unsigned(std::string_view field, std::size_t max_digits);
// "12", "12.5", "-0.3" (the sign only with allow_negative); no exponent, inf or nan.
Parsed<double> read_decimal(std::string_view field, bool allow_negative);
// "hhmmss" with an optional fraction of a second; milliseconds since midnight. A leap second
// (ss = 60) reads as the last millisecond of second 59, which keeps times in order.
Parsed<std::int32_t> read_time_of_day(std::string_view field);
// "ddmmyy", years 80-99 as 19xx and 00-79 as 20xx; UTC milliseconds at midnight of that date.
Parsed<std::int64_t> read_date(std::string_view field);
// "ddmm.mmmm" with "N"/"S" or "dddmm.mmmm" with "E"/"W"; degrees, negative south and west.
Parsed<double> read_latitude(std::string_view field, std::string_view hemisphere);
Parsed<double> read_longitude(std::string_view field, std::string_view hemisphere);
// One hexadecimal digit, either case.
Parsed<std::uint8_t> read_hex_digit(std::string_view field);

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(int year, unsigned month, unsigned day);

}  // namespace fieldlog::gnss::detail
