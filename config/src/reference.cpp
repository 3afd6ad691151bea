#include "fieldlog/config/reference.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <system_error>

#include "fieldlog/discharge/parameters.hpp"
#include "fieldlog/files.hpp"
#include "reference_readers.hpp"
#include "toml_reader.hpp"

namespace fieldlog::config {

namespace {

using detail::Diagnostics;
using detail::in_quotes;
using detail::join;
using detail::TableReader;
using discharge::LimitRule;
using discharge::StandardClass;

constexpr std::size_t max_reference_bytes = 4 * 1024 * 1024;

constexpr std::array site_kinds{
    SiteKind::wastewater_treatment_plant,
    SiteKind::industrial_enterprise,
    SiteKind::chemical_park_enterprise,
    SiteKind::solid_waste_yard,
    SiteKind::hazardous_waste_store,
    SiteKind::waste_salt_disposal_contractor,
    SiteKind::other,
};

bool id_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

bool valid_site_id(std::string_view id) {
    return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), id_char);
}

// Class ids name a standard and its class, as in "GB18918-2002/1A".
bool valid_class_id(std::string_view id) {
    return !id.empty() && id.size() <= 64 &&
           std::all_of(id.begin(), id.end(), [](char c) { return id_char(c) || c == '/'; });
}

std::string known_parameters() {
    std::vector<std::string> names;
    for (const auto& info : discharge::parameters()) {
        if (info.has_limits) names.emplace_back(info.name);
    }
    return join(names, ", ");
}

std::string accepted_units(const discharge::ParameterInfo& info) {
    std::vector<std::string> units;
    for (const auto& conversion : info.units) {
        if (!conversion.unit.empty()) units.emplace_back(conversion.unit);
    }
    return join(units, ", ");
}

std::optional<LimitRule> read_limit_rule(TableReader& reader) {
    // Every key is read before any check can return early, so that finish() still knows them.
    auto parameter = reader.string("parameter", true);
    auto unit = reader.string("unit");
    auto min = reader.number("min");
    auto max = reader.number("max");
    auto max_cold = reader.number("max_cold");
    auto built_from = reader.date_ms("built_from");
    auto built_before = reader.date_ms("built_before");
    if (!parameter) return std::nullopt;

    const discharge::ParameterInfo* info = discharge::find_parameter(*parameter);
    if (info == nullptr) {
        reader.error("parameter", "unknown parameter " + in_quotes(*parameter) +
                                      "; known: " + known_parameters());
        return std::nullopt;
    }
    const std::string name(info->name);
    if (!info->has_limits) {
        reader.error("parameter", name + " is recorded for reference only and takes no limit");
        return std::nullopt;
    }
    if (!unit && !discharge::convert_to_canonical(name, 0, "")) {
        reader.error("unit", "missing required key; " + name + " accepts " + accepted_units(*info));
        return std::nullopt;
    }
    const std::string unit_text = unit.value_or("");
    if (auto checked = discharge::convert_to_canonical(name, 0, unit_text); !checked) {
        reader.error("unit", checked.error().message());
        return std::nullopt;
    }

    LimitRule rule;
    rule.parameter = name;
    bool ok = true;
    auto canonical = [&](std::string_view key, const std::optional<double>& value,
                         std::optional<double>& out) {
        if (!value) return;
        auto reading = discharge::normalise_reading(name, *value, unit_text);
        if (reading) {
            out = reading->value;
        } else {
            reader.error(key, reading.error().message());
            ok = false;
        }
    };
    canonical("min", min, rule.min);
    canonical("max", max, rule.max);
    canonical("max_cold", max_cold, rule.max_cold);
    rule.built_from_ms = built_from;
    rule.built_before_ms = built_before;
    if (!ok) return std::nullopt;

    if (!rule.min && !rule.max) {
        reader.error(name + " limit sets neither min nor max");
        return std::nullopt;
    }
    if (rule.max_cold && !rule.max) {
        reader.error("max_cold", "needs max, the limit for water above 12 degC, beside it");
        return std::nullopt;
    }
    if (rule.min && rule.max && *rule.min > *rule.max) {
        reader.error("min", "min " + discharge::format_number(*min) + " is greater than max " +
                                discharge::format_number(*max));
        return std::nullopt;
    }
    if (rule.built_from_ms && rule.built_before_ms &&
        *rule.built_from_ms >= *rule.built_before_ms) {
        reader.error("built_before", "must be later than built_from");
        return std::nullopt;
    }
    return rule;
}

bool same_plants(const LimitRule& a, const LimitRule& b) {
    constexpr auto lowest = std::numeric_limits<std::int64_t>::min();
    constexpr auto highest = std::numeric_limits<std::int64_t>::max();
    return std::max(a.built_from_ms.value_or(lowest), b.built_from_ms.value_or(lowest)) <
           std::min(a.built_before_ms.value_or(highest), b.built_before_ms.value_or(highest));
}

// Limits of one parameter may differ only by construction date, and those date ranges must not
// overlap: otherwise which limit applies to a plant would depend on the order in the file.
std::vector<LimitRule> read_limit_rules(TableReader& owner, std::string_view key, bool required) {
    std::vector<LimitRule> rules;
    std::vector<std::string> places;
    for (const toml::table* table : owner.tables(key, required)) {
        TableReader reader(*table, owner.key_path(key), owner.diagnostics());
        auto rule = read_limit_rule(reader);
        reader.finish();
        if (!rule) continue;
        bool clash = false;
        for (std::size_t i = 0; i < rules.size() && !clash; ++i) {
            if (rules[i].parameter == rule->parameter && same_plants(rules[i], *rule)) {
                reader.error("parameter", "a second " + rule->parameter +
                                              " limit for the same plants; the first is at " +
                                              places[i] +
                                              " (tell them apart with built_from/built_before)");
                clash = true;
            }
        }
        if (clash) continue;
        rules.push_back(std::move(*rule));
        places.push_back(owner.diagnostics().location(table->source()));
    }
    return rules;
}

std::optional<Site> read_site(TableReader& reader, const StandardMap& standards) {
    Site site;
    bool ok = true;
    auto id = reader.string("id", true);
    auto name = reader.string("name", true);
    auto kind = reader.string("kind", true);
    auto address = reader.string("address");
    auto lat = reader.number("lat");
    auto lon = reader.number("lon");
    auto standard = reader.string("standard");
    auto built = reader.date_ms("built");
    auto permit = reader.string("permit");
    site.permit_rules = read_limit_rules(reader, "permit_limits", false);

    if (id && !valid_site_id(*id)) {
        reader.error("id", "expected 1 to 64 of A-Z a-z 0-9 . _ -, got " + in_quotes(*id));
        ok = false;
    }
    if (name && name->empty()) {
        reader.error("name", "must not be empty");
        ok = false;
    }
    if (kind) {
        if (auto parsed = parse_site_kind(*kind)) {
            site.kind = *parsed;
        } else {
            std::vector<std::string> valid;
            for (SiteKind known : site_kinds) valid.emplace_back(site_kind_name(known));
            reader.error("kind",
                         "unknown site kind " + in_quotes(*kind) + "; valid: " + join(valid, ", "));
            ok = false;
        }
    }
    auto check_range = [&](std::string_view key, const std::optional<double>& value, double limit) {
        if (value && !(std::abs(*value) <= limit)) {
            reader.error(key, "expected a number from " + discharge::format_number(-limit) +
                                  " to " + discharge::format_number(limit) + ", got " +
                                  discharge::format_number(*value));
            ok = false;
        }
    };
    check_range("lat", lat, 90);
    check_range("lon", lon, 180);
    if (lat.has_value() != lon.has_value()) {
        reader.error(lat ? "lat" : "lon", "lat and lon go together; give both or neither");
        ok = false;
    }
    if (standard && standards.find(*standard) == standards.end()) {
        std::vector<std::string> known;
        for (const auto& [known_id, unused] : standards) known.push_back(known_id);
        reader.error("standard", "unknown standard class " + in_quotes(*standard) +
                                     "; known: " + (known.empty() ? "none" : join(known, ", ")));
        ok = false;
    }
    if (permit && permit->empty()) {
        reader.error("permit", "must not be empty; leave the key out when there is no permit");
        ok = false;
    }
    if (!site.permit_rules.empty() && !permit) {
        reader.error("permit_limits", "permit limits need the permit number (key permit)");
        ok = false;
    }
    if (!ok || !id || !name || !kind) return std::nullopt;
    site.id = *id;
    site.name = *name;
    site.lat = lat;
    site.lon = lon;
    site.address = address.value_or("");
    site.permit_number = permit.value_or("");
    site.standard_id = standard.value_or("");
    site.built_ms = built;
    return site;
}

}  // namespace

namespace detail {

void read_standards(const toml::table& document, StandardMap& standards,
                    std::map<std::string, std::string>& places, Diagnostics& diag) {
    TableReader root(document, "", diag);
    for (const toml::table* table : root.tables("class", true)) {
        TableReader reader(*table, "class", diag);
        auto id = reader.string("id", true);
        auto title = reader.string("title");
        auto rules = read_limit_rules(reader, "limits", true);
        reader.finish();
        if (!id) continue;
        if (!valid_class_id(*id)) {
            reader.error("id", "expected 1 to 64 of A-Z a-z 0-9 . _ - /, got " + in_quotes(*id));
            continue;
        }
        if (auto first = places.find(*id); first != places.end()) {
            reader.error("id", "duplicate class id " + in_quotes(*id) + "; first defined at " +
                                   first->second);
            continue;
        }
        places.emplace(*id, diag.location(reader.where("id")));
        standards.emplace(*id, StandardClass{*id, title.value_or(*id), std::move(rules)});
    }
    root.finish();
}

void read_sites(const toml::table& document, ReferenceData& data, Diagnostics& diag) {
    TableReader root(document, "", diag);
    std::map<std::string, std::string, std::less<>> places;
    for (const toml::table* table : root.tables("site")) {
        TableReader reader(*table, "site", diag);
        auto site = read_site(reader, data.standards);
        reader.finish();
        if (!site) continue;
        if (auto first = places.find(site->id); first != places.end()) {
            reader.error("id", "duplicate site id " + in_quotes(site->id) + "; first defined at " +
                                   first->second);
            continue;
        }
        places.emplace(site->id, diag.location(reader.where("id")));
        std::string id = site->id;
        data.sites.emplace(std::move(id), std::move(*site));
    }
    root.finish();
}

}  // namespace detail

namespace {

Error directory_error(const std::error_code& ec, const std::filesystem::path& dir) {
    Errc code = ec == std::errc::no_such_file_or_directory ? Errc::not_found : Errc::io;
    return Error(code, "cannot read standards directory " + dir.string() + ": " + ec.message());
}

}  // namespace

std::string_view site_kind_name(SiteKind kind) {
    switch (kind) {
        case SiteKind::wastewater_treatment_plant:
            return "wastewater_treatment_plant";
        case SiteKind::industrial_enterprise:
            return "industrial_enterprise";
        case SiteKind::chemical_park_enterprise:
            return "chemical_park_enterprise";
        case SiteKind::solid_waste_yard:
            return "solid_waste_yard";
        case SiteKind::hazardous_waste_store:
            return "hazardous_waste_store";
        case SiteKind::waste_salt_disposal_contractor:
            return "waste_salt_disposal_contractor";
        case SiteKind::other:
            return "other";
    }
    return "other";
}

std::optional<SiteKind> parse_site_kind(std::string_view name) {
    for (SiteKind kind : site_kinds) {
        if (site_kind_name(kind) == name) return kind;
    }
    return std::nullopt;
}

const Site* ReferenceData::find_site(std::string_view id) const {
    auto it = sites.find(id);
    return it == sites.end() ? nullptr : &it->second;
}

const discharge::StandardClass* ReferenceData::find_standard(std::string_view id) const {
    auto it = standards.find(id);
    return it == standards.end() ? nullptr : &it->second;
}

discharge::SiteLimits ReferenceData::limits_for(const Site& site) const {
    return discharge::SiteLimits{
        site.permit_number, site.permit_rules,
        site.standard_id.empty() ? nullptr : find_standard(site.standard_id), site.built_ms};
}

Result<StandardMap> load_standards_dir(const std::filesystem::path& dir) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code type_ec;
        if (it->path().extension() == ".toml" && it->is_regular_file(type_ec)) {
            files.push_back(it->path());
        }
    }
    if (ec) return directory_error(ec, dir);
    std::sort(files.begin(), files.end());

    Diagnostics diag;
    StandardMap standards;
    std::map<std::string, std::string> places;
    for (const auto& file : files) {
        auto text = read_file(file, max_reference_bytes);
        if (!text) return text.error();
        diag.set_source(file.string());
        if (auto document = detail::parse_document(*text, diag)) {
            detail::read_standards(*document, standards, places, diag);
        }
    }
    if (!diag.ok()) return diag.to_error();
    return standards;
}

Result<ReferenceData> load_reference_data(const std::filesystem::path& sites_file,
                                          const std::filesystem::path& standards_dir) {
    ReferenceData data;
    auto standards = load_standards_dir(standards_dir);
    if (!standards) return standards.error();
    data.standards = std::move(*standards);

    auto text = read_file(sites_file, max_reference_bytes);
    if (!text) return text.error();
    Diagnostics diag;
    diag.set_source(sites_file.string());
    if (auto document = detail::parse_document(*text, diag)) {
        detail::read_sites(*document, data, diag);
    }
    if (!diag.ok()) return diag.to_error();
    return data;
}

}  // namespace fieldlog::config
