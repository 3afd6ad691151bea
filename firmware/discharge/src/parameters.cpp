#include "fieldlog/discharge/parameters.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace fieldlog::discharge {

namespace {

// Field meters and lab sheets write the same unit several ways; the superscript and the two
// look-alike micro signs (U+00B5 MICRO SIGN, U+03BC GREEK SMALL LETTER MU) all occur in practice.
constexpr std::array concentration_units{
    UnitConversion{"mg/L", 1, 1},         UnitConversion{"g/m3", 1, 1},
    UnitConversion{"g/m\u00b3", 1, 1},    UnitConversion{"ug/L", 1, 1000},
    UnitConversion{"\u00b5g/L", 1, 1000}, UnitConversion{"\u03bcg/L", 1, 1000},
};
constexpr std::array ph_units{UnitConversion{"pH", 1, 1}, UnitConversion{"", 1, 1}};
constexpr std::array flow_units{
    UnitConversion{"m3/d", 1, 1},       UnitConversion{"m\u00b3/d", 1, 1},
    UnitConversion{"m3/h", 24, 1},      UnitConversion{"m\u00b3/h", 24, 1},
    UnitConversion{"L/s", 86400, 1000},
};
// U+2103 DEGREE CELSIUS is what Chinese-language instruments and forms print.
constexpr std::array temperature_units{
    UnitConversion{"degC", 1, 1},
    UnitConversion{"C", 1, 1},
    UnitConversion{"\u00b0C", 1, 1},
    UnitConversion{"\u2103", 1, 1},
};

constexpr std::array catalog{
    ParameterInfo{"COD", Quantity::concentration, "mg/L", concentration_units, true},
    ParameterInfo{"BOD5", Quantity::concentration, "mg/L", concentration_units, true},
    ParameterInfo{"NH3-N", Quantity::concentration, "mg/L", concentration_units, true},
    ParameterInfo{"TN", Quantity::concentration, "mg/L", concentration_units, true},
    ParameterInfo{"TP", Quantity::concentration, "mg/L", concentration_units, true},
    ParameterInfo{"SS", Quantity::concentration, "mg/L", concentration_units, true},
    ParameterInfo{"pH", Quantity::ph, "pH", ph_units, true},
    ParameterInfo{"flow", Quantity::flow, "m3/d", flow_units, false},
    ParameterInfo{"water_temp", Quantity::temperature, "degC", temperature_units, false},
};

struct Alias {
    std::string_view alias;
    std::string_view name;
};

constexpr std::array aliases{
    Alias{"CODcr", "COD"},
    Alias{"BOD", "BOD5"},
    Alias{"NH3N", "NH3-N"},
    Alias{"NH3_N", "NH3-N"},
    Alias{"temperature", "water_temp"},
    Alias{"water_temperature", "water_temp"},
};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// Units are case-sensitive ("mg" is not "Mg"), except that litres are written both ways.
bool same_unit(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        bool litre = (a[i] == 'L' || a[i] == 'l') && (b[i] == 'L' || b[i] == 'l');
        if (a[i] != b[i] && !litre) return false;
    }
    return true;
}

std::string_view trim(std::string_view text) {
    auto blank = [](char c) { return c == ' ' || c == '\t'; };
    while (!text.empty() && blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && blank(text.back())) text.remove_suffix(1);
    return text;
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string known_parameter_list() {
    std::string out;
    for (const auto& info : catalog) {
        if (!out.empty()) out += ", ";
        out += info.name;
    }
    return out;
}

std::string accepted_unit_list(const ParameterInfo& info) {
    std::string out;
    for (const auto& conversion : info.units) {
        if (!out.empty()) out += ", ";
        out += conversion.unit.empty() ? std::string("\"\" (none)") : std::string(conversion.unit);
    }
    return out;
}

Error invalid(std::string message) { return Error(Errc::invalid_argument, std::move(message)); }

Result<const ParameterInfo*> lookup(std::string_view parameter) {
    const ParameterInfo* info = find_parameter(parameter);
    if (info == nullptr) {
        return invalid("unknown parameter " + quoted(parameter) +
                       "; known: " + known_parameter_list());
    }
    return info;
}

Result<const UnitConversion*> lookup_unit(const ParameterInfo& info, std::string_view unit) {
    std::string_view trimmed = trim(unit);
    for (const auto& conversion : info.units) {
        if (same_unit(conversion.unit, trimmed)) return &conversion;
    }
    return invalid(std::string(info.name) + ": unit " + quoted(trimmed) +
                   " is not accepted; accepted: " + accepted_unit_list(info));
}

}  // namespace

std::span<const ParameterInfo> parameters() { return catalog; }

const ParameterInfo* find_parameter(std::string_view name) {
    name = trim(name);
    for (const auto& alias : aliases) {
        if (equal_ignoring_case(alias.alias, name)) name = alias.name;
    }
    for (const auto& info : catalog) {
        if (equal_ignoring_case(info.name, name)) return &info;
    }
    return nullptr;
}

bool is_known_parameter(std::string_view name) { return find_parameter(name) != nullptr; }

std::optional<std::string_view> canonical_parameter_name(std::string_view name) {
    const ParameterInfo* info = find_parameter(name);
    if (info == nullptr) return std::nullopt;
    return info->name;
}

Result<double> convert_to_canonical(std::string_view parameter, double value,
                                    std::string_view unit) {
    auto info = lookup(parameter);
    if (!info) return info.error();
    auto conversion = lookup_unit(**info, unit);
    if (!conversion) return conversion.error();
    if (!std::isfinite(value)) {
        return invalid(std::string((*info)->name) + ": value is not a finite number");
    }
    return value * (*conversion)->multiply / (*conversion)->divide;
}

Result<Reading> normalise_reading(std::string_view parameter, double value, std::string_view unit) {
    auto canonical = convert_to_canonical(parameter, value, unit);
    if (!canonical) return canonical.error();
    const ParameterInfo& info = *find_parameter(parameter);
    std::string name(info.name);
    std::string as_given =
        format_number(value) + (trim(unit).empty() ? "" : " ") + std::string(trim(unit));
    switch (info.quantity) {
        case Quantity::concentration:
            if (*canonical < 0) return invalid(name + ": negative concentration " + as_given);
            break;
        case Quantity::flow:
            if (*canonical < 0) return invalid(name + ": negative flow " + as_given);
            break;
        case Quantity::ph:
            if (*canonical < 0 || *canonical > 14) {
                return invalid(name + ": " + format_number(value) +
                               " is outside the pH scale 0 to 14");
            }
            break;
        case Quantity::temperature:
            // A value outside liquid water is a slip of the keypad (115 for 11.5) or a reading in
            // Fahrenheit; either would silently pick the wrong ammonia limit.
            if (*canonical < -5 || *canonical > 100) {
                return invalid(name + ": " + as_given +
                               " is not a water temperature (expected -5 to 100 degC)");
            }
            break;
    }
    return Reading{name, *canonical, std::string(info.canonical_unit)};
}

std::string format_number(double value) {
    if (value == 0) return "0";  // also folds -0 into 0
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general, 6);
    if (ec != std::errc()) return "?";
    return std::string(buf, end);
}

}  // namespace fieldlog::discharge
