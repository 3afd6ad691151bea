#include "fieldlog/discharge/judge.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fieldlog/clock.hpp"

namespace fieldlog::discharge {
namespace {

using ::testing::HasSubstr;

std::int64_t date(std::string_view text) { return parse_time_ms(text).value(); }

LimitRule max_rule(std::string parameter, double max) {
    LimitRule rule;
    rule.parameter = std::move(parameter);
    rule.max = max;
    return rule;
}

// GB 18918-2002 table 1 as the shipped data file has it.
StandardClass class_1a() {
    StandardClass standard{"GB18918-2002/1A", "GB 18918-2002 class 1A", {}};
    standard.rules.push_back(max_rule("COD", 50));
    LimitRule ammonia = max_rule("NH3-N", 5);
    ammonia.max_cold = 8;
    standard.rules.push_back(ammonia);
    LimitRule tp_new = max_rule("TP", 0.5);
    tp_new.built_from_ms = date("2006-01-01");
    standard.rules.push_back(tp_new);
    LimitRule tp_old = max_rule("TP", 1);
    tp_old.built_before_ms = date("2006-01-01");
    standard.rules.push_back(tp_old);
    LimitRule ph;
    ph.parameter = "pH";
    ph.min = 6;
    ph.max = 9;
    standard.rules.push_back(ph);
    return standard;
}

class Judge : public ::testing::Test {
protected:
    StandardClass standard_ = class_1a();
    SiteLimits site_{"", {}, &standard_, date("2012-05-01")};
};

TEST_F(Judge, ComputesExceedanceRatioAboveMax) {
    auto judgement = judge({"COD", 75, "mg/L"}, site_, std::nullopt);
    EXPECT_EQ(judgement.verdict, Verdict::exceeds);
    EXPECT_EQ(judgement.limit_max, 50);
    EXPECT_EQ(judgement.limit_source, "GB18918-2002/1A");
    ASSERT_TRUE(judgement.exceedance_ratio);
    EXPECT_DOUBLE_EQ(*judgement.exceedance_ratio, 0.5);
    EXPECT_EQ(judgement.note,
              "COD 75 mg/L exceeds the limit of 50 mg/L set by GB18918-2002/1A by 50%.");
}

TEST_F(Judge, CountsReadingAtTheLimitAsCompliant) {
    auto judgement = judge({"COD", 50, "mg/L"}, site_, std::nullopt);
    EXPECT_EQ(judgement.verdict, Verdict::compliant);
    EXPECT_FALSE(judgement.exceedance_ratio);
    EXPECT_THAT(judgement.note, HasSubstr("within the limit of 50 mg/L set by GB18918-2002/1A"));
}

TEST_F(Judge, FlagsPhBelowMinimumWithoutRatio) {
    auto judgement = judge({"pH", 5.2, "pH"}, site_, std::nullopt);
    EXPECT_EQ(judgement.verdict, Verdict::exceeds);
    EXPECT_EQ(judgement.limit_min, 6);
    EXPECT_EQ(judgement.limit_max, 9);
    EXPECT_FALSE(judgement.exceedance_ratio);
    EXPECT_THAT(judgement.note, HasSubstr("pH 5.2 is 0.8 below the minimum 6"));
}

TEST_F(Judge, FlagsPhAboveMaximumWithoutRatio) {
    auto judgement = judge({"pH", 9.6, "pH"}, site_, std::nullopt);
    EXPECT_EQ(judgement.verdict, Verdict::exceeds);
    EXPECT_FALSE(judgement.exceedance_ratio);
    EXPECT_THAT(judgement.note, HasSubstr("pH 9.6 is 0.6 above the maximum 9"));
}

TEST_F(Judge, AcceptsPhInsideRange) {
    auto judgement = judge({"pH", 7.4, "pH"}, site_, std::nullopt);
    EXPECT_EQ(judgement.verdict, Verdict::compliant);
    EXPECT_THAT(judgement.note, HasSubstr("within the range 6 to 9"));
}

TEST_F(Judge, UsesColdLimitForAmmoniaBelowTwelveDegrees) {
    auto judgement = judge({"NH3-N", 7, "mg/L"}, site_, 11.5);
    EXPECT_EQ(judgement.verdict, Verdict::compliant);
    EXPECT_EQ(judgement.limit_max, 8);
    EXPECT_THAT(judgement.note, HasSubstr("cold-water limit applies"));
}

TEST_F(Judge, UsesColdLimitForAmmoniaAtTwelveDegrees) {
    auto judgement = judge({"NH3-N", 7, "mg/L"}, site_, 12.0);
    EXPECT_EQ(judgement.verdict, Verdict::compliant);
    EXPECT_EQ(judgement.limit_max, 8);
}

TEST_F(Judge, UsesWarmLimitForAmmoniaJustAboveTwelveDegrees) {
    auto judgement = judge({"NH3-N", 7, "mg/L"}, site_, 12.1);
    EXPECT_EQ(judgement.verdict, Verdict::exceeds);
    EXPECT_EQ(judgement.limit_max, 5);
    ASSERT_TRUE(judgement.exceedance_ratio);
    EXPECT_DOUBLE_EQ(*judgement.exceedance_ratio, 0.4);
    EXPECT_THAT(judgement.note, HasSubstr("above 12 degC"));
}

TEST_F(Judge, UsesWarmLimitForAmmoniaAndSaysSoWithoutTemperature) {
    auto judgement = judge({"NH3-N", 7, "mg/L"}, site_, std::nullopt);
    EXPECT_EQ(judgement.verdict, Verdict::exceeds);
    EXPECT_EQ(judgement.limit_max, 5);
    EXPECT_THAT(judgement.note, HasSubstr("No water temperature was given"));
    EXPECT_THAT(judgement.note, HasSubstr("it would be 8 mg/L"));
}

TEST_F(Judge, PermitLimitTakesPrecedenceOverStandard) {
    site_.permit_number = "91320999MA20XK7Q3R001P";
    site_.permit_rules.push_back(max_rule("COD", 40));
    auto cod = judge({"COD", 45, "mg/L"}, site_, std::nullopt);
    EXPECT_EQ(cod.verdict, Verdict::exceeds);
    EXPECT_EQ(cod.limit_max, 40);
    EXPECT_EQ(cod.limit_source, "permit 91320999MA20XK7Q3R001P");
    EXPECT_THAT(cod.note, HasSubstr("takes precedence over GB18918-2002/1A"));
    // Parameters the permit does not name still fall back to the standard.
    auto ph = judge({"pH", 7, "pH"}, site_, std::nullopt);
    EXPECT_EQ(ph.limit_source, "GB18918-2002/1A");
}

TEST_F(Judge, PermitRuleWithoutColdLimitIgnoresTemperature) {
    site_.permit_number = "P-7";
    site_.permit_rules.push_back(max_rule("NH3-N", 3));
    auto judgement = judge({"NH3-N", 4, "mg/L"}, site_, 8.0);
    EXPECT_EQ(judgement.verdict, Verdict::exceeds);
    EXPECT_EQ(judgement.limit_max, 3);
}

TEST_F(Judge, ChoosesPhosphorusLimitByConstructionDate) {
    site_.built_ms = date("2012-05-01");
    auto newer = judge({"TP", 0.8, "mg/L"}, site_, std::nullopt);
    EXPECT_EQ(newer.verdict, Verdict::exceeds);
    EXPECT_EQ(newer.limit_max, 0.5);
    EXPECT_THAT(newer.note, HasSubstr("plants built from 2006-01-01"));

    site_.built_ms = date("2003-09-01");
    auto older = judge({"TP", 0.8, "mg/L"}, site_, std::nullopt);
    EXPECT_EQ(older.verdict, Verdict::compliant);
    EXPECT_EQ(older.limit_max, 1);
    EXPECT_THAT(older.note, HasSubstr("built on 2003-09-01"));
    EXPECT_THAT(older.note, HasSubstr("plants built before 2006-01-01"));
}

TEST_F(Judge, TreatsBuildDateBoundaryAsNewPlant) {
    site_.built_ms = date("2006-01-01");
    EXPECT_EQ(judge({"TP", 0.8, "mg/L"}, site_, std::nullopt).limit_max, 0.5);
}

TEST_F(Judge, ChoosesStricterPhosphorusLimitWhenBuildDateUnknown) {
    site_.built_ms.reset();
    auto judgement = judge({"TP", 0.8, "mg/L"}, site_, std::nullopt);
    EXPECT_EQ(judgement.verdict, Verdict::exceeds);
    EXPECT_EQ(judgement.limit_max, 0.5);
    EXPECT_THAT(judgement.note, HasSubstr("construction date is unknown"));
}

TEST_F(Judge, HasNoLimitForFlowOrTemperature) {
    auto flow = judge({"flow", 25000, "m3/d"}, site_, std::nullopt);
    EXPECT_EQ(flow.verdict, Verdict::no_limit);
    EXPECT_TRUE(flow.limit_source.empty());
    EXPECT_FALSE(flow.limit_max);
    EXPECT_EQ(judge({"water_temp", 20, "degC"}, site_, std::nullopt).verdict, Verdict::no_limit);
}

TEST_F(Judge, HasNoLimitWhenNeitherPermitNorStandardNamesParameter) {
    site_.permit_number = "P-7";
    auto judgement = judge({"TN", 30, "mg/L"}, site_, std::nullopt);
    EXPECT_EQ(judgement.verdict, Verdict::no_limit);
    EXPECT_THAT(judgement.note, HasSubstr("Neither permit P-7 nor GB18918-2002/1A sets a TN"));
    SiteLimits bare;
    EXPECT_EQ(judge({"COD", 30, "mg/L"}, bare, std::nullopt).verdict, Verdict::no_limit);
}

TEST(Verdict, HasStableNames) {
    EXPECT_EQ(verdict_name(Verdict::compliant), "compliant");
    EXPECT_EQ(verdict_name(Verdict::exceeds), "exceeds");
    EXPECT_EQ(verdict_name(Verdict::no_limit), "no_limit");
}

TEST(CompareReadings, GivesOnlineMinusFieldAndRelativeDifference) {
    auto comparison = compare_readings(40, 30);
    EXPECT_DOUBLE_EQ(comparison.difference, -10);
    ASSERT_TRUE(comparison.relative_difference);
    EXPECT_DOUBLE_EQ(*comparison.relative_difference, -0.25);
}

TEST(CompareReadings, LeavesRelativeDifferenceEmptyForZeroFieldReading) {
    auto comparison = compare_readings(0, 0.2);
    EXPECT_DOUBLE_EQ(comparison.difference, 0.2);
    EXPECT_FALSE(comparison.relative_difference);
}

}  // namespace
}  // namespace fieldlog::discharge
