// Discharge limits as data: the rules of a standard class (e.g. GB 18918-2002 class 1A) and the
// limits a site's own discharge permit sets. Values are in the parameter's canonical unit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fieldlog::discharge {

struct LimitRule {
    std::string parameter;  // canonical name
    std::optional<double> min;
    std::optional<double> max;
    // Replaces max when the water temperature is <= 12 °C (GB 18918 NH3-N: nitrification slows
    // in cold water, so the standard allows more).
    std::optional<double> max_cold;
    // The rule applies to plants built in [built_from_ms, built_before_ms) (GB 18918 TP differs
    // for plants built before 2006-01-01). Absent bounds are open.
    std::optional<std::int64_t> built_from_ms;
    std::optional<std::int64_t> built_before_ms;
};

struct StandardClass {
    std::string id;  // e.g. "GB18918-2002/1A"
    std::string title;
    std::vector<LimitRule> rules;
};

// Everything judge() needs to know about one site. standard points into the reference data that
// produced it and is valid only as long as that lives.
struct SiteLimits {
    std::string permit_number;
    std::vector<LimitRule>
        permit_rules;  // take precedence over the standard, parameter by parameter
    const StandardClass* standard = nullptr;
    std::optional<std::int64_t> built_ms;
};

}  // namespace fieldlog::discharge
