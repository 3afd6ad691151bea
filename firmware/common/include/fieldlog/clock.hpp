// Wall-clock time as fieldlog stores it: integer milliseconds since the Unix epoch, UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fieldlog {

// The wall clock is an edge like any other: tests substitute a fixed one.
class Clock {
public:
    virtual ~Clock() = default;
    virtual std::int64_t wall_ms() const = 0;
};

class SystemClock final : public Clock {
public:
    std::int64_t wall_ms() const override;
};

// "2026-11-25T03:04:05.123Z"
std::string format_utc_ms(std::int64_t ms);
// Accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]]" with "Z" or a "+HH:MM"/"-HH:MM" offset;
// a time with no zone is read as UTC. Returns nothing for anything else, including
// out-of-range fields such as month 13 or February 30.
std::optional<std::int64_t> parse_time_ms(std::string_view text);

}  // namespace fieldlog
