#include "fieldlog/discharge/judge.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <vector>

#include "fieldlog/clock.hpp"

namespace fieldlog::discharge {

namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();

std::string date_text(std::int64_t ms) { return format_utc_ms(ms).substr(0, 10); }

std::string percent(double ratio) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, ratio * 100, std::chars_format::fixed, 1);
    if (ec != std::errc()) return "?%";
    std::string out(buf, end);
    if (out.ends_with(".0")) out.resize(out.size() - 2);
    return out + "%";
}

bool has_build_condition(const LimitRule& rule) {
    return rule.built_from_ms.has_value() || rule.built_before_ms.has_value();
}

bool covers(const LimitRule& rule, std::int64_t built_ms) {
    return (!rule.built_from_ms || built_ms >= *rule.built_from_ms) &&
           (!rule.built_before_ms || built_ms < *rule.built_before_ms);
}

std::string build_condition_text(const LimitRule& rule) {
    std::string out = "plants built";
    if (rule.built_from_ms) out += " from " + date_text(*rule.built_from_ms);
    if (rule.built_from_ms && rule.built_before_ms) out += " and";
    if (rule.built_before_ms) out += " before " + date_text(*rule.built_before_ms);
    return out;
}

// Smaller max first, then smaller cold-water max, then larger min: the rule that fails more
// readings. With the build date unknown this is the one that cannot let a plant off lightly.
bool stricter(const LimitRule& a, const LimitRule& b) {
    double a_max = a.max.value_or(infinity);
    double b_max = b.max.value_or(infinity);
    if (a_max != b_max) return a_max < b_max;
    double a_cold = a.max_cold.value_or(a_max);
    double b_cold = b.max_cold.value_or(b_max);
    if (a_cold != b_cold) return a_cold < b_cold;
    return a.min.value_or(-infinity) > b.min.value_or(-infinity);
}

const LimitRule* strictest(const std::vector<const LimitRule*>& rules) {
    const LimitRule* best = nullptr;
    for (const LimitRule* rule : rules) {
        if (best == nullptr || stricter(*rule, *best)) best = rule;
    }
    return best;
}

std::vector<const LimitRule*> rules_for(const std::vector<LimitRule>& rules,
                                        std::string_view parameter) {
    std::vector<const LimitRule*> out;
    for (const auto& rule : rules) {
        if (canonical_parameter_name(rule.parameter) == parameter) out.push_back(&rule);
    }
    return out;
}

void add_sentence(std::string& note, const std::string& sentence) {
    if (sentence.empty()) return;
    if (!note.empty()) note += ' ';
    note += sentence;
}

// "COD 75 mg/L", but "pH 9.6" rather than "pH 9.6 pH".
std::string with_unit(const ParameterInfo& info, double value) {
    if (info.quantity == Quantity::ph) return format_number(value);
    return format_number(value) + " " + std::string(info.canonical_unit);
}

}  // namespace

std::string_view verdict_name(Verdict verdict) {
    switch (verdict) {
        case Verdict::compliant:
            return "compliant";
        case Verdict::exceeds:
            return "exceeds";
        case Verdict::no_limit:
            return "no_limit";
    }
    return "no_limit";
}

Judgement judge(const Reading& reading, const SiteLimits& site,
                std::optional<double> water_temp_c) {
    Judgement judgement;
    const ParameterInfo* info = find_parameter(reading.parameter);
    if (info == nullptr) {
        judgement.note =
            "\"" + reading.parameter + "\" is not a known parameter; no limit applies.";
        return judgement;
    }
    const std::string name(info->name);
    if (!info->has_limits) {
        judgement.note = name + " is recorded for reference; no discharge limit applies to it.";
        return judgement;
    }

    std::vector<const LimitRule*> candidates = rules_for(site.permit_rules, name);
    std::string source;
    std::string reasons;
    if (!candidates.empty()) {
        source = "permit " + site.permit_number;
        if (site.standard != nullptr && !rules_for(site.standard->rules, name).empty()) {
            add_sentence(reasons, "The permit's own " + name + " limit takes precedence over " +
                                      site.standard->id + ".");
        }
    } else if (site.standard != nullptr) {
        candidates = rules_for(site.standard->rules, name);
        source = site.standard->id;
    }
    if (candidates.empty()) {
        if (site.permit_number.empty() && site.standard == nullptr) {
            judgement.note = "No limit applies to " + name +
                             ": the site has no permit limits and no standard class.";
        } else if (!site.permit_number.empty() && site.standard != nullptr) {
            judgement.note = "Neither permit " + site.permit_number + " nor " + site.standard->id +
                             " sets a " + name + " limit.";
        } else {
            judgement.note =
                (site.standard != nullptr ? site.standard->id : "Permit " + site.permit_number) +
                " sets no " + name + " limit.";
        }
        return judgement;
    }

    const LimitRule* rule = nullptr;
    bool conditional = false;
    for (const LimitRule* candidate : candidates) conditional |= has_build_condition(*candidate);
    if (!conditional) {
        rule = strictest(candidates);
    } else if (site.built_ms) {
        std::vector<const LimitRule*> covering;
        for (const LimitRule* candidate : candidates) {
            if (covers(*candidate, *site.built_ms)) covering.push_back(candidate);
        }
        if (covering.empty()) {
            judgement.note = source + " sets no " + name + " limit for a plant built on " +
                             date_text(*site.built_ms) + ".";
            return judgement;
        }
        rule = strictest(covering);
        if (has_build_condition(*rule)) {
            add_sentence(reasons, "The plant was built on " + date_text(*site.built_ms) +
                                      ", so the limit for " + build_condition_text(*rule) +
                                      " applies.");
        }
    } else {
        rule = strictest(candidates);
        if (has_build_condition(*rule)) {
            add_sentence(reasons,
                         "The plant's construction date is unknown, so the stricter limit, for " +
                             build_condition_text(*rule) + ", applies.");
        }
    }

    std::optional<double> max = rule->max;
    if (rule->max_cold) {
        bool known = water_temp_c.has_value() && std::isfinite(*water_temp_c);
        std::string cold_max = with_unit(*info, *rule->max_cold);
        if (known && *water_temp_c <= cold_water_max_c) {
            max = rule->max_cold;
            add_sentence(reasons, "The water was at " + format_number(*water_temp_c) +
                                      " degC, at or below 12 degC, so the cold-water limit "
                                      "applies.");
        } else if (known) {
            add_sentence(reasons, "The water was at " + format_number(*water_temp_c) +
                                      " degC, above 12 degC, so the cold-water limit of " +
                                      cold_max + " does not apply.");
        } else {
            add_sentence(reasons,
                         "No water temperature was given, so the limit for water above 12 degC "
                         "applies; at or below 12 degC it would be " +
                             cold_max + ".");
        }
    }

    if (!rule->min && !max) {
        judgement.note = source + " sets no " + name + " limit for these conditions.";
        add_sentence(judgement.note, reasons);
        return judgement;
    }
    judgement.limit_min = rule->min;
    judgement.limit_max = max;
    judgement.limit_source = source;
    const double value = reading.value;
    const std::string shown = name + " " + with_unit(*info, value);
    const bool ph = info->quantity == Quantity::ph;
    std::string verdict;
    if (max && value > *max) {
        judgement.verdict = Verdict::exceeds;
        if (ph) {
            verdict = shown + " is " + format_number(value - *max) + " above the maximum " +
                      format_number(*max) + " set by " + source + ".";
        } else {
            verdict =
                shown + " exceeds the limit of " + with_unit(*info, *max) + " set by " + source;
            if (*max > 0) {
                judgement.exceedance_ratio = (value - *max) / *max;
                verdict += " by " + percent(*judgement.exceedance_ratio);
            }
            verdict += ".";
        }
    } else if (rule->min && value < *rule->min) {
        judgement.verdict = Verdict::exceeds;
        verdict = shown + " is " + with_unit(*info, *rule->min - value) + " below the minimum " +
                  with_unit(*info, *rule->min) + " set by " + source + ".";
    } else {
        judgement.verdict = Verdict::compliant;
        if (rule->min && max) {
            verdict = shown + " is within the range " + format_number(*rule->min) + " to " +
                      with_unit(*info, *max) + " set by " + source + ".";
        } else if (max) {
            verdict = shown + " is within the limit of " + with_unit(*info, *max) + " set by " +
                      source + ".";
        } else {
            verdict = shown + " is at or above the minimum " + with_unit(*info, *rule->min) +
                      " set by " + source + ".";
        }
    }
    judgement.note = verdict;
    add_sentence(judgement.note, reasons);
    return judgement;
}

Comparison compare_readings(double field, double online) {
    Comparison comparison{field, online, online - field, std::nullopt};
    if (field != 0) comparison.relative_difference = comparison.difference / field;
    return comparison;
}

}  // namespace fieldlog::discharge
