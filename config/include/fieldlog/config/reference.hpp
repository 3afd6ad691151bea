// Reference data the daemon judges against: the sites an inspection team visits (sites.toml)
// and the discharge-standard classes (standards/*.toml), with loaders that check every entry.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fieldlog/discharge/limits.hpp"
#include "fieldlog/error.hpp"

namespace fieldlog::config {

enum class SiteKind {
    wastewater_treatment_plant,
    industrial_enterprise,
    chemical_park_enterprise,
    solid_waste_yard,  // general industrial solid waste
    hazardous_waste_store,
    waste_salt_disposal_contractor,
    other,
};

// The enum value's own name, which is also how sites.toml writes it.
std::string_view site_kind_name(SiteKind kind);
std::optional<SiteKind> parse_site_kind(std::string_view name);

struct Site {
    std::string id;  // [A-Za-z0-9._-]{1,64}
    std::string name;
    SiteKind kind = SiteKind::other;
    std::optional<double> lat;
    std::optional<double> lon;
    std::string address;
    std::string permit_number;  // empty when the site has no discharge permit on file
    std::string standard_id;    // empty when no standard class applies
    std::optional<std::int64_t> built_ms;
    std::vector<discharge::LimitRule> permit_rules;
};

using StandardMap = std::map<std::string, discharge::StandardClass, std::less<>>;

struct ReferenceData {
    StandardMap standards;
    std::map<std::string, Site, std::less<>> sites;

    const Site* find_site(std::string_view id) const;
    const discharge::StandardClass* find_standard(std::string_view id) const;
    // The result points into standards: keep this ReferenceData alive (and unchanged) while
    // it is used.
    discharge::SiteLimits limits_for(const Site& site) const;
};

// Loads every *.toml file in dir, in name order; a file may define several classes.
[[nodiscard]] Result<StandardMap> load_standards_dir(const std::filesystem::path& dir);

// Loads the standards, then the sites, checking each site's references against them.
[[nodiscard]] Result<ReferenceData> load_reference_data(const std::filesystem::path& sites_file,
                                                        const std::filesystem::path& standards_dir);

}  // namespace fieldlog::config
