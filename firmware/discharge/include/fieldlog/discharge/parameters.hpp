// The wastewater parameters fieldlog records at an outfall, their canonical units, and the units
// an inspector's meter or a limit table may write them in.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "fieldlog/error.hpp"

namespace fieldlog::discharge {

enum class Quantity { concentration, ph, flow, temperature };

// value_in_canonical = value * multiply / divide; kept as a ratio of integers so that, for
// example, 1 L/s becomes exactly the double nearest 86.4 m3/d.
struct UnitConversion {
    std::string_view unit;
    double multiply;
    double divide;
};

struct ParameterInfo {
    std::string_view name;  // canonical, e.g. "NH3-N"
    Quantity quantity;
    std::string_view canonical_unit;
    std::span<const UnitConversion> units;  // every accepted unit, the canonical one first
    // Flow and water temperature are recorded beside the judged parameters but have no limit.
    bool has_limits;
};

// A reading in the parameter's canonical name and unit.
struct Reading {
    std::string parameter;
    double value = 0;
    std::string unit;
};

// The catalog in a fixed order: COD, BOD5, NH3-N, TN, TP, SS, pH, flow, water_temp.
std::span<const ParameterInfo> parameters();

// Matches case-insensitively, aliases included ("nh3n", "BOD", "CODcr").
const ParameterInfo* find_parameter(std::string_view name);
bool is_known_parameter(std::string_view name);
std::optional<std::string_view> canonical_parameter_name(std::string_view name);

// Converts a value written in any accepted unit of the parameter to its canonical unit. Units
// match after trimming white space, with "L" and "l" taken as the same letter.
[[nodiscard]] Result<double> convert_to_canonical(std::string_view parameter, double value,
                                                  std::string_view unit);

// convert_to_canonical plus the checks a measured value must pass: finite, no negative
// concentration or flow, pH within 0 to 14, a water temperature liquid water can have.
[[nodiscard]] Result<Reading> normalise_reading(std::string_view parameter, double value,
                                                std::string_view unit);

// How values appear in messages and notes: at most six significant digits, no trailing zeros
// ("50", "0.5", "8.25").
std::string format_number(double value);

}  // namespace fieldlog::discharge
