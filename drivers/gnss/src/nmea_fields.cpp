#include "nmea_fields.hpp"

#include <charconv>
#include <cmath>
#include <system_error>

namespace fieldlog::gnss::detail {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view text) {
    for (char c : text) {
        if (!is_digit(c)) return false;
    }
    return true;
}

// Two digits at text[at], text[at + 1]; the caller has checked they are digits.
unsigned two_digits(std::string_view text, std::size_t at) {
    return static_cast<unsigned>(text[at] - '0') * 10U + static_cast<unsigned>(text[at + 1] - '0');
}

bool is_leap_year(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

unsigned days_in_month(int year, unsigned month) {
    static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && is_leap_year(year)) return 29;
    return kDays[month - 1];
}

Parsed<double> read_coordinate(std::string_view field, std::string_view hemisphere,
                               std::size_t max_integer_digits, double max_degrees, char positive,
                               char negative) {
    if (hemisphere.size() != 1 || (hemisphere[0] != positive && hemisphere[0] != negative)) {
        return NmeaError::bad_field;
    }
    std::size_t dot = field.find('.');
    std::string_view integer = field.substr(0, dot);
    std::string_view fraction =
        dot == std::string_view::npos ? std::string_view() : field.substr(dot + 1);
    // At least one digit of degrees before the two of whole minutes.
    if (integer.size() < 3 || integer.size() > max_integer_digits || !all_digits(integer) ||
        fraction.size() > 10 || !all_digits(fraction)) {
        return NmeaError::bad_field;
    }
    auto degrees = read_unsigned(integer.substr(0, integer.size() - 2), max_integer_digits);
    auto minutes = read_decimal(field.substr(integer.size() - 2), false);
    if (!degrees || !minutes) return NmeaError::bad_field;
    if (*minutes >= 60.0) return NmeaError::out_of_range;
    double value = static_cast<double>(*degrees) + *minutes / 60.0;
    if (value > max_degrees) return NmeaError::out_of_range;
    return hemisphere[0] == negative ? -value : value;
}

}  // namespace

Parsed<std::uint32_t> read_unsigned(std::string_view field, std::size_t max_digits) {
    if (field.empty() || field.size() > max_digits || field.size() > 9 || !all_digits(field)) {
        return NmeaError::bad_field;
    }
    std::uint32_t value = 0;
    for (char c : field) value = value * 10U + static_cast<std::uint32_t>(c - '0');
    return value;
}

Parsed<double> read_decimal(std::string_view field, bool allow_negative) {
    // Longer than any real NMEA number; keeps from_chars away from absurd inputs.
    if (field.empty() || field.size() > 20) return NmeaError::bad_field;
    std::string_view rest = field;
    if (rest.front() == '-') {
        if (!allow_negative) return NmeaError::bad_field;
        rest.remove_prefix(1);
    }
    std::size_t dot = rest.find('.');
    std::string_view integer = rest.substr(0, dot);
    std::string_view fraction =
        dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
    if (integer.empty() || !all_digits(integer) || !all_digits(fraction)) {
        return NmeaError::bad_field;
    }
    double value = 0;
    auto [end, ec] =
        std::from_chars(field.data(), field.data() + field.size(), value, std::chars_format::fixed);
    if (ec != std::errc() || end != field.data() + field.size() || !std::isfinite(value)) {
        return NmeaError::bad_field;
    }
    return value;
}

Parsed<std::int32_t> read_time_of_day(std::string_view field) {
    if (field.size() < 6 || !all_digits(field.substr(0, 6))) return NmeaError::bad_field;
    std::string_view fraction;
    if (field.size() > 6) {
        if (field[6] != '.') return NmeaError::bad_field;
        fraction = field.substr(7);
        if (fraction.size() > 9 || !all_digits(fraction)) return NmeaError::bad_field;
    }
    unsigned hours = two_digits(field, 0);
    unsigned minutes = two_digits(field, 2);
    unsigned seconds = two_digits(field, 4);
    if (hours > 23 || minutes > 59 || seconds > 60) return NmeaError::out_of_range;
    unsigned millis = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        millis =
            millis * 10U + (i < fraction.size() ? static_cast<unsigned>(fraction[i] - '0') : 0U);
    }
    if (seconds == 60) {
        seconds = 59;
        millis = 999;
    }
    return static_cast<std::int32_t>(((hours * 60U + minutes) * 60U + seconds) * 1000U + millis);
}

Parsed<std::int64_t> read_date(std::string_view field) {
    if (field.size() != 6 || !all_digits(field)) return NmeaError::bad_field;
    unsigned day = two_digits(field, 0);
    unsigned month = two_digits(field, 2);
    unsigned yy = two_digits(field, 4);
    int year = static_cast<int>(yy) + (yy >= 80 ? 1900 : 2000);
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
        return NmeaError::out_of_range;
    }
    return days_from_civil(year, month, day) * kMsPerDay;
}

Parsed<double> read_latitude(std::string_view field, std::string_view hemisphere) {
    return read_coordinate(field, hemisphere, 4, 90.0, 'N', 'S');
}

Parsed<double> read_longitude(std::string_view field, std::string_view hemisphere) {
    return read_coordinate(field, hemisphere, 5, 180.0, 'E', 'W');
}

Parsed<std::uint8_t> read_hex_digit(std::string_view field) {
    if (field.size() != 1) return NmeaError::bad_field;
    char c = field[0];
    if (is_digit(c)) return static_cast<std::uint8_t>(c - '0');
    if (c >= 'A' && c <= 'F') return static_cast<std::uint8_t>(c - 'A' + 10);
    if (c >= 'a' && c <= 'f') return static_cast<std::uint8_t>(c - 'a' + 10);
    return NmeaError::bad_field;
}

std::int64_t days_from_civil(int year, unsigned month, unsigned day) {
    year -= month <= 2 ? 1 : 0;
    const int era = (year >= 0 ? year : year - 399) / 400;
    const auto yoe = static_cast<unsigned>(year - era * 400);
    const unsigned doy = (153U * (month > 2 ? month - 3U : month + 9U) + 2U) / 5U + day - 1U;
    const unsigned doe = yoe * 365U + yoe / 4U - yoe / 100U + doy;
    return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace fieldlog::gnss::detail
