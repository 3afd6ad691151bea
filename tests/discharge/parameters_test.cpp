#include "fieldlog/discharge/parameters.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace fieldlog::discharge {
namespace {

using ::testing::HasSubstr;

double canonical(std::string_view parameter, double value, std::string_view unit) {
    auto converted = convert_to_canonical(parameter, value, unit);
    EXPECT_TRUE(converted) << (converted ? "" : converted.error().message());
    return converted ? *converted : std::nan("");
}

TEST(Parameters, TreatsGramsPerCubicMetreAsMilligramsPerLitre) {
    EXPECT_DOUBLE_EQ(canonical("COD", 42.5, "g/m3"), 42.5);
    EXPECT_DOUBLE_EQ(canonical("TP", 0.3, "g/m\u00b3"), 0.3);
    EXPECT_DOUBLE_EQ(canonical("SS", 12, "mg/L"), 12);
}

TEST(Parameters, ConvertsMicrogramsWithEitherMicroSign) {
    EXPECT_DOUBLE_EQ(canonical("TP", 500, "ug/L"), 0.5);
    EXPECT_DOUBLE_EQ(canonical("TP", 250, "\u00b5g/L"), 0.25);
    EXPECT_DOUBLE_EQ(canonical("TP", 1500, "\u03bcg/L"), 1.5);
}

TEST(Parameters, ConvertsFlowToCubicMetresPerDay) {
    EXPECT_DOUBLE_EQ(canonical("flow", 100, "m3/h"), 2400);
    EXPECT_DOUBLE_EQ(canonical("flow", 1, "L/s"), 86.4);
    EXPECT_DOUBLE_EQ(canonical("flow", 12.5, "l/s"), 1080);
    EXPECT_DOUBLE_EQ(canonical("flow", 20000, "m3/d"), 20000);
}

TEST(Parameters, AcceptsLowerCaseLitreAndSurroundingSpaces) {
    EXPECT_DOUBLE_EQ(canonical("COD", 30, " mg/l "), 30);
}

TEST(Parameters, NormalisesNameAliasAndUnit) {
    auto reading = normalise_reading("nh3n", 2000, "ug/L");
    ASSERT_TRUE(reading) << reading.error().message();
    EXPECT_EQ(reading->parameter, "NH3-N");
    EXPECT_DOUBLE_EQ(reading->value, 2.0);
    EXPECT_EQ(reading->unit, "mg/L");
    EXPECT_EQ(canonical_parameter_name("BOD"), "BOD5");
    EXPECT_EQ(canonical_parameter_name("PH"), "pH");
    EXPECT_TRUE(is_known_parameter("Water_Temp"));
    EXPECT_FALSE(is_known_parameter("DO"));
}

TEST(Parameters, AcceptsPhWithOrWithoutUnit) {
    auto bare = normalise_reading("pH", 7.2, "");
    ASSERT_TRUE(bare);
    EXPECT_EQ(bare->unit, "pH");
    EXPECT_TRUE(normalise_reading("pH", 7.2, "pH"));
}

TEST(Parameters, AcceptsCelsiusSpellings) {
    for (std::string_view unit : {"degC", "C", "\u00b0C", "\u2103"}) {
        auto reading = normalise_reading("water_temp", 11.5, unit);
        ASSERT_TRUE(reading) << unit;
        EXPECT_EQ(reading->unit, "degC");
    }
}

TEST(Parameters, RejectsUnknownParameterListingKnownOnes) {
    auto reading = normalise_reading("DO", 5, "mg/L");
    ASSERT_FALSE(reading);
    EXPECT_EQ(reading.error().code(), Errc::invalid_argument);
    EXPECT_THAT(reading.error().message(), HasSubstr("unknown parameter \"DO\""));
    EXPECT_THAT(reading.error().message(),
                HasSubstr("COD, BOD5, NH3-N, TN, TP, SS, pH, flow, water_temp"));
}

TEST(Parameters, RejectsUnitNotAcceptedForParameter) {
    auto reading = normalise_reading("COD", 5, "m3/d");
    ASSERT_FALSE(reading);
    EXPECT_THAT(reading.error().message(), HasSubstr("COD: unit \"m3/d\" is not accepted"));
    EXPECT_THAT(reading.error().message(), HasSubstr("mg/L, g/m3"));
    EXPECT_FALSE(normalise_reading("COD", 5, "MG/L"));
    EXPECT_FALSE(normalise_reading("pH", 7, "mg/L"));
    EXPECT_FALSE(normalise_reading("flow", 7, "m3"));
}

TEST(Parameters, RejectsNegativeConcentrationAndFlow) {
    auto cod = normalise_reading("COD", -3, "mg/L");
    ASSERT_FALSE(cod);
    EXPECT_EQ(cod.error().message(), "COD: negative concentration -3 mg/L");
    auto flow = normalise_reading("flow", -2, "m3/h");
    ASSERT_FALSE(flow);
    EXPECT_EQ(flow.error().message(), "flow: negative flow -2 m3/h");
    EXPECT_TRUE(normalise_reading("COD", 0, "mg/L"));
}

TEST(Parameters, RejectsPhOutsideScaleOnBothSides) {
    auto low = normalise_reading("pH", -0.1, "");
    ASSERT_FALSE(low);
    EXPECT_THAT(low.error().message(), HasSubstr("outside the pH scale 0 to 14"));
    EXPECT_FALSE(normalise_reading("pH", 14.2, "pH"));
    EXPECT_TRUE(normalise_reading("pH", 0, "pH"));
    EXPECT_TRUE(normalise_reading("pH", 14, "pH"));
}

TEST(Parameters, RejectsImplausibleWaterTemperature) {
    auto reading = normalise_reading("water_temp", 115, "degC");
    ASSERT_FALSE(reading);
    EXPECT_THAT(reading.error().message(), HasSubstr("not a water temperature"));
}

TEST(Parameters, RejectsNonFiniteValues) {
    auto nan = normalise_reading("TN", std::nan(""), "mg/L");
    ASSERT_FALSE(nan);
    EXPECT_THAT(nan.error().message(), HasSubstr("TN: value is not a finite number"));
    EXPECT_FALSE(normalise_reading("flow", std::numeric_limits<double>::infinity(), "m3/d"));
    EXPECT_FALSE(convert_to_canonical("pH", -std::numeric_limits<double>::infinity(), "pH"));
}

TEST(Parameters, FormatsNumbersWithoutTrailingZeros) {
    EXPECT_EQ(format_number(50), "50");
    EXPECT_EQ(format_number(0.5), "0.5");
    EXPECT_EQ(format_number(9.6 - 9), "0.6");
    EXPECT_EQ(format_number(-0.0), "0");
}

}  // namespace
}  // namespace fieldlog::discharge
