#include "fieldlog/config/reference.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "fieldlog/clock.hpp"
#include "fieldlog/discharge/judge.hpp"
#include "temp_dir.hpp"

namespace fieldlog::config {
namespace {

using discharge::LimitRule;
using ::testing::HasSubstr;

constexpr std::string_view small_standard = R"([[class]]
id = "TEST/1"
title = "Test class"
limits = [
    { parameter = "COD", max = 50, unit = "mg/L" },
    { parameter = "pH", min = 6, max = 9 },
]
)";

const LimitRule* rule_for(const std::vector<LimitRule>& rules, std::string_view parameter,
                          std::optional<std::int64_t> built_ms = std::nullopt) {
    for (const auto& rule : rules) {
        if (rule.parameter != parameter) continue;
        if (built_ms && rule.built_from_ms && *built_ms < *rule.built_from_ms) continue;
        if (built_ms && rule.built_before_ms && *built_ms >= *rule.built_before_ms) continue;
        return &rule;
    }
    return nullptr;
}

class Reference : public ::testing::Test {
protected:
    void write(const std::filesystem::path& name, std::string_view text) {
        auto path = dir_ / name;
        std::filesystem::create_directories(path.parent_path());
        std::ofstream(path) << text;
    }

    // Loads sites.toml against standards/ in the scratch directory and returns the error text.
    std::string error_of(std::string_view sites, std::string_view standard = small_standard) {
        write("standards/test.toml", standard);
        write("sites.toml", sites);
        auto data = load_reference_data(dir_ / "sites.toml", dir_ / "standards");
        if (data) {
            ADD_FAILURE() << "reference data was accepted";
            return "";
        }
        EXPECT_EQ(data.error().code(), Errc::invalid_argument);
        return data.error().message();
    }

    testing::TempDir dir_;
};

TEST_F(Reference, LoadsShippedStandardsAndSites) {
    auto config = testing::source_dir() / "config";
    auto data = load_reference_data(config / "sites.toml", config / "standards");
    ASSERT_TRUE(data) << data.error().message();
    EXPECT_EQ(data->standards.size(), 2u);
    EXPECT_GE(data->sites.size(), 6u);

    const Site* old_town = data->find_site("wwtp-old-town");
    ASSERT_NE(old_town, nullptr);
    EXPECT_EQ(old_town->kind, SiteKind::wastewater_treatment_plant);
    EXPECT_EQ(old_town->built_ms, parse_time_ms("2003-09-01"));
    ASSERT_NE(rule_for(old_town->permit_rules, "COD"), nullptr);
    EXPECT_EQ(rule_for(old_town->permit_rules, "COD")->max, 40);
    EXPECT_EQ(rule_for(old_town->permit_rules, "NH3-N")->max, 3);

    auto limits = data->limits_for(*old_town);
    ASSERT_NE(limits.standard, nullptr);
    EXPECT_EQ(limits.standard->id, "GB18918-2002/1B");
    auto cod = discharge::judge({"COD", 45, "mg/L"}, limits, std::nullopt);
    EXPECT_EQ(cod.verdict, discharge::Verdict::exceeds);
    EXPECT_EQ(cod.limit_source, "permit " + old_town->permit_number);
    auto tp = discharge::judge({"TP", 1.2, "mg/L"}, limits, std::nullopt);
    EXPECT_EQ(tp.verdict, discharge::Verdict::compliant);
    EXPECT_EQ(tp.limit_max, 1.5);

    std::vector<SiteKind> kinds;
    for (const auto& [id, site] : data->sites) kinds.push_back(site.kind);
    for (SiteKind kind :
         {SiteKind::wastewater_treatment_plant, SiteKind::industrial_enterprise,
          SiteKind::chemical_park_enterprise, SiteKind::solid_waste_yard,
          SiteKind::hazardous_waste_store, SiteKind::waste_salt_disposal_contractor}) {
        EXPECT_THAT(kinds, ::testing::Contains(kind)) << site_kind_name(kind);
    }
}

TEST_F(Reference, ShippedStandardHasGb18918Table1Limits) {
    auto standards = load_standards_dir(testing::source_dir() / "config/standards");
    ASSERT_TRUE(standards) << standards.error().message();
    auto a = standards->find("GB18918-2002/1A");
    auto b = standards->find("GB18918-2002/1B");
    ASSERT_NE(a, standards->end());
    ASSERT_NE(b, standards->end());
    const auto& rules_a = a->second.rules;
    const auto& rules_b = b->second.rules;
    EXPECT_EQ(rule_for(rules_a, "COD")->max, 50);
    EXPECT_EQ(rule_for(rules_b, "COD")->max, 60);
    EXPECT_EQ(rule_for(rules_a, "BOD5")->max, 10);
    EXPECT_EQ(rule_for(rules_b, "BOD5")->max, 20);
    EXPECT_EQ(rule_for(rules_a, "SS")->max, 10);
    EXPECT_EQ(rule_for(rules_b, "SS")->max, 20);
    EXPECT_EQ(rule_for(rules_a, "TN")->max, 15);
    EXPECT_EQ(rule_for(rules_b, "TN")->max, 20);
    EXPECT_EQ(rule_for(rules_a, "NH3-N")->max, 5);
    EXPECT_EQ(rule_for(rules_a, "NH3-N")->max_cold, 8);
    EXPECT_EQ(rule_for(rules_b, "NH3-N")->max, 8);
    EXPECT_EQ(rule_for(rules_b, "NH3-N")->max_cold, 15);
    auto new_plant = parse_time_ms("2010-01-01");
    auto old_plant = parse_time_ms("2005-12-31");
    EXPECT_EQ(rule_for(rules_a, "TP", new_plant)->max, 0.5);
    EXPECT_EQ(rule_for(rules_a, "TP", old_plant)->max, 1);
    EXPECT_EQ(rule_for(rules_b, "TP", new_plant)->max, 1);
    EXPECT_EQ(rule_for(rules_b, "TP", old_plant)->max, 1.5);
    for (const auto* rules : {&rules_a, &rules_b}) {
        EXPECT_EQ(rule_for(*rules, "pH")->min, 6);
        EXPECT_EQ(rule_for(*rules, "pH")->max, 9);
    }
}

TEST_F(Reference, ConvertsLimitUnitsToCanonical) {
    write("standards/units.toml", R"([[class]]
id = "UNITS/1"
limits = [
    { parameter = "TP", max = 500, unit = "ug/L" },
    { parameter = "COD", max = 40, unit = "g/m3" },
]
)");
    auto standards = load_standards_dir(dir_ / "standards");
    ASSERT_TRUE(standards) << standards.error().message();
    const auto& rules = standards->at("UNITS/1").rules;
    EXPECT_DOUBLE_EQ(*rule_for(rules, "TP")->max, 0.5);
    EXPECT_DOUBLE_EQ(*rule_for(rules, "COD")->max, 40);
    EXPECT_EQ(standards->at("UNITS/1").title, "UNITS/1");
}

TEST_F(Reference, AcceptsBuiltDateWrittenAsString) {
    write("standards/test.toml", small_standard);
    write("sites.toml", R"([[site]]
id = "p1"
name = "Plant"
kind = "wastewater_treatment_plant"
standard = "TEST/1"
built = "2004-03-01"
)");
    auto data = load_reference_data(dir_ / "sites.toml", dir_ / "standards");
    ASSERT_TRUE(data) << data.error().message();
    EXPECT_EQ(data->find_site("p1")->built_ms, parse_time_ms("2004-03-01"));
    EXPECT_EQ(data->find_site("absent"), nullptr);
}

TEST_F(Reference, RejectsSiteReferencingUnknownStandard) {
    auto message = error_of(R"([[site]]
id = "p1"
name = "Plant"
kind = "wastewater_treatment_plant"
standard = "GB18918-2002/1C"
)");
    EXPECT_THAT(message, HasSubstr("sites.toml:5:1: site.standard: unknown standard class "
                                   "\"GB18918-2002/1C\"; known: TEST/1"));
}

TEST_F(Reference, RejectsUnknownParameterInPermitLimits) {
    auto message = error_of(R"([[site]]
id = "p1"
name = "Plant"
kind = "industrial_enterprise"
permit = "P-1"
permit_limits = [
    { parameter = "DO", min = 2, unit = "mg/L" },
]
)");
    EXPECT_THAT(message, HasSubstr("sites.toml:7:7: site.permit_limits.parameter: unknown "
                                   "parameter \"DO\"; known: COD,"));
}

TEST_F(Reference, RejectsUnitNotAcceptedForParameter) {
    auto message = error_of(R"([[site]]
id = "p1"
name = "Plant"
kind = "industrial_enterprise"
permit = "P-1"
permit_limits = [
    { parameter = "COD", max = 40, unit = "kg/d" },
]
)");
    EXPECT_THAT(message, HasSubstr("sites.toml:7:36: site.permit_limits.unit: COD: unit "
                                   "\"kg/d\" is not accepted; accepted: mg/L"));
}

TEST_F(Reference, RequiresUnitExceptForPh) {
    auto message = error_of("", R"([[class]]
id = "T/2"
limits = [ { parameter = "COD", max = 40 } ]
)");
    EXPECT_THAT(message, HasSubstr("test.toml:3:"));
    EXPECT_THAT(message, HasSubstr("class.limits.unit: missing required key; COD accepts mg/L"));
}

TEST_F(Reference, RejectsLimitsForUnlimitedParameters) {
    auto message = error_of("", R"([[class]]
id = "T/2"
limits = [ { parameter = "flow", max = 40, unit = "m3/d" } ]
)");
    EXPECT_THAT(message, HasSubstr("class.limits.parameter: flow is recorded for reference only"));
}

TEST_F(Reference, RejectsMinAboveMaxAndNegativeLimits) {
    auto message = error_of("", R"([[class]]
id = "T/2"
limits = [
    { parameter = "pH", min = 9, max = 6 },
    { parameter = "COD", max = -1, unit = "mg/L" },
]
)");
    EXPECT_THAT(message,
                HasSubstr("test.toml:4:25: class.limits.min: min 9 is greater than max 6"));
    EXPECT_THAT(message,
                HasSubstr("test.toml:5:26: class.limits.max: COD: negative concentration -1 mg/L"));
}

TEST_F(Reference, RejectsOverlappingLimitsForSameParameter) {
    auto message = error_of("", R"([[class]]
id = "T/2"
limits = [
    { parameter = "TP", max = 0.5, unit = "mg/L", built_from = 2006-01-01 },
    { parameter = "TP", max = 1, unit = "mg/L", built_before = 2007-01-01 },
]
)");
    EXPECT_THAT(message, HasSubstr("test.toml:5:7: class.limits.parameter: a second TP limit for "
                                   "the same plants; the first is at "));
}

TEST_F(Reference, RejectsDuplicateClassIdAcrossFiles) {
    write("standards/again.toml", small_standard);
    auto message = error_of("");
    EXPECT_THAT(message, HasSubstr("test.toml:2:1: class.id: duplicate class id \"TEST/1\"; "
                                   "first defined at "));
    EXPECT_THAT(message, HasSubstr("again.toml:2:1"));
}

TEST_F(Reference, RejectsCoordinatesOutOfRange) {
    auto message = error_of(R"([[site]]
id = "p1"
name = "Plant"
kind = "solid_waste_yard"
lat = 95.5
lon = 120.9
)");
    EXPECT_THAT(message, HasSubstr("sites.toml:5:1: site.lat: expected a number from -90 to 90, "
                                   "got 95.5"));
}

TEST_F(Reference, RejectsDuplicateAndMalformedSiteIds) {
    auto message = error_of(R"([[site]]
id = "p1"
name = "Plant"
kind = "other"

[[site]]
id = "p1"
name = "Plant again"
kind = "other"

[[site]]
id = "p 2"
name = "Spaced"
kind = "other"
)");
    EXPECT_THAT(message, HasSubstr("sites.toml:7:1: site.id: duplicate site id \"p1\"; first "
                                   "defined at "));
    EXPECT_THAT(message, HasSubstr("sites.toml:12:1: site.id: expected 1 to 64 of"));
}

TEST_F(Reference, RejectsUnknownSiteKindListingValidOnes) {
    auto message = error_of(R"([[site]]
id = "p1"
name = "Plant"
kind = "factory"
)");
    EXPECT_THAT(message, HasSubstr("sites.toml:4:1: site.kind: unknown site kind \"factory\"; "
                                   "valid: wastewater_treatment_plant, industrial_enterprise"));
}

TEST_F(Reference, RejectsImpossibleBuiltDate) {
    auto message = error_of(R"([[site]]
id = "p1"
name = "Plant"
kind = "wastewater_treatment_plant"
built = "2004-02-30"
)");
    EXPECT_THAT(message, HasSubstr("sites.toml:5:1: site.built: expected a date such as "
                                   "2004-03-01, got \"2004-02-30\""));
    auto typed = error_of(R"([[site]]
id = "p1"
name = "Plant"
kind = "wastewater_treatment_plant"
built = 2004
)");
    EXPECT_THAT(typed, HasSubstr("site.built: expected a date such as 2004-03-01, got an integer"));
}

TEST_F(Reference, RejectsMisspeltSiteKey) {
    auto message = error_of(R"([[site]]
id = "p1"
name = "Plant"
kind = "wastewater_treatment_plant"
standrad = "TEST/1"
)");
    EXPECT_THAT(message, HasSubstr("sites.toml:5:1: site.standrad: unknown key"));
}

TEST_F(Reference, RejectsPermitLimitsWithoutPermitNumber) {
    auto message = error_of(R"([[site]]
id = "p1"
name = "Plant"
kind = "industrial_enterprise"
permit_limits = [ { parameter = "COD", max = 40, unit = "mg/L" } ]
)");
    EXPECT_THAT(message, HasSubstr("sites.toml:5:1: site.permit_limits: permit limits need the "
                                   "permit number"));
}

TEST_F(Reference, ReportsSyntaxErrorWithPosition) {
    auto message = error_of("[[site]]\nid = \"p1\nname = \"x\"\n");
    EXPECT_THAT(message, HasSubstr("sites.toml:2:"));
    EXPECT_THAT(message, HasSubstr("syntax error"));
}

TEST_F(Reference, ReportsMissingStandardsDirectoryAsNotFound) {
    auto standards = load_standards_dir(dir_ / "absent");
    ASSERT_FALSE(standards);
    EXPECT_EQ(standards.error().code(), Errc::not_found);
    EXPECT_THAT(standards.error().message(), HasSubstr("absent"));
}

TEST(SiteKind, NamesRoundTrip) {
    for (SiteKind kind : {SiteKind::wastewater_treatment_plant, SiteKind::hazardous_waste_store,
                          SiteKind::waste_salt_disposal_contractor, SiteKind::other}) {
        EXPECT_EQ(parse_site_kind(site_kind_name(kind)), kind);
    }
    EXPECT_EQ(site_kind_name(SiteKind::solid_waste_yard), "solid_waste_yard");
    EXPECT_FALSE(parse_site_kind("Solid_Waste_Yard"));
}

}  // namespace
}  // namespace fieldlog::config
