// Judges a field reading against the limit that applies to the site, and sets it beside the
// plant's own online-monitor reading.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "fieldlog/discharge/limits.hpp"
#include "fieldlog/discharge/parameters.hpp"

namespace fieldlog::discharge {

// The threshold for ammonia's cold-water limit: it applies at or below this temperature.
inline constexpr double cold_water_max_c = 12.0;

enum class Verdict { compliant, exceeds, no_limit };

// "compliant", "exceeds", "no_limit"
std::string_view verdict_name(Verdict verdict);

struct Judgement {
    Verdict verdict = Verdict::no_limit;
    std::optional<double> limit_min;
    std::optional<double> limit_max;  // the max that applied, the cold-water one when it did
    std::string limit_source;         // "permit <number>" or the standard class id; empty if none
    // (value - max) / max when above a max; COD 75 against 50 gives 0.5. Empty for pH, whose
    // scale is logarithmic, and whenever the reading is not above a positive max.
    std::optional<double> exceedance_ratio;
    std::string note;  // for a person: which limit applied and why
};

// reading is canonical (see normalise_reading). water_temp_c is the water temperature measured
// with it, if any; it selects the cold-water limit where a rule has one.
Judgement judge(const Reading& reading, const SiteLimits& site, std::optional<double> water_temp_c);

struct Comparison {
    double field = 0;
    double online = 0;
    double difference = 0;                      // online - field
    std::optional<double> relative_difference;  // difference / field; empty when field is 0
};

// Field reading against the plant's online monitor, both in the same unit.
Comparison compare_readings(double field, double online);

}  // namespace fieldlog::discharge
