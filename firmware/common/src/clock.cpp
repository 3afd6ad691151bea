#include "fieldlog/clock.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>

namespace fieldlog {

std::int64_t SystemClock::wall_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string format_utc_ms(std::int64_t ms) {
    using namespace std::chrono;
    sys_time<milliseconds> tp{milliseconds(ms)};
    auto day = floor<days>(tp);
    year_month_day ymd{day};
    hh_mm_ss<milliseconds> tod{tp - day};
    char buf[40];
    std::snprintf(
        buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%03ldZ", static_cast<int>(ymd.year()),
        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
        static_cast<long>(tod.hours().count()), static_cast<long>(tod.minutes().count()),
        static_cast<long>(tod.seconds().count()), static_cast<long>(tod.subseconds().count()));
    return buf;
}

namespace {

bool take_int(std::string_view& text, std::size_t digits, int& out) {
    if (text.size() < digits) return false;
    for (std::size_t i = 0; i < digits; ++i) {
        if (text[i] < '0' || text[i] > '9') return false;
    }
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, out);
    if (ec != std::errc() || ptr != text.data() + digits) return false;
    text.remove_prefix(digits);
    return true;
}

bool take_char(std::string_view& text, char c) {
    if (text.empty() || text.front() != c) return false;
    text.remove_prefix(1);
    return true;
}

}  // namespace

std::optional<std::int64_t> parse_time_ms(std::string_view text) {
    using namespace std::chrono;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, frac_ms = 0;
    if (!take_int(text, 4, y) || !take_char(text, '-') || !take_int(text, 2, mo) ||
        !take_char(text, '-') || !take_int(text, 2, d)) {
        return std::nullopt;
    }
    year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
    if (!ymd.ok()) return std::nullopt;
    int offset_min = 0;
    if (!text.empty()) {
        if (!take_char(text, 'T') && !take_char(text, ' ')) return std::nullopt;
        if (!take_int(text, 2, h) || !take_char(text, ':') || !take_int(text, 2, mi)) {
            return std::nullopt;
        }
        if (take_char(text, ':')) {
            if (!take_int(text, 2, s)) return std::nullopt;
            if (take_char(text, '.')) {
                int scale = 100;
                std::size_t n = 0;
                while (!text.empty() && text.front() >= '0' && text.front() <= '9') {
                    frac_ms += (text.front() - '0') * scale;
                    scale /= 10;
                    text.remove_prefix(1);
                    ++n;
                }
                if (n == 0) return std::nullopt;
            }
        }
        if (h > 23 || mi > 59 || s > 60) return std::nullopt;
        if (take_char(text, 'Z')) {
        } else if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
            int sign = text.front() == '-' ? -1 : 1;
            text.remove_prefix(1);
            int oh = 0, om = 0;
            if (!take_int(text, 2, oh) || !take_char(text, ':') || !take_int(text, 2, om) ||
                oh > 14 || om > 59) {
                return std::nullopt;
            }
            offset_min = sign * (oh * 60 + om);
        }
        if (!text.empty()) return std::nullopt;
    }
    sys_days days_since = sys_days(ymd);
    std::int64_t ms = duration_cast<milliseconds>(days_since.time_since_epoch()).count();
    ms += ((static_cast<std::int64_t>(h) * 60 + mi) * 60 + s) * 1000 + frac_ms;
    ms -= static_cast<std::int64_t>(offset_min) * 60 * 1000;
    return ms;
}

}  // namespace fieldlog
