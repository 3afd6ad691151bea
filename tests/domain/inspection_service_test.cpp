#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "fieldlog/store/database.hpp"
#include "service_fixture.hpp"

namespace fieldlog::domain::testing {
namespace {

namespace json = boost::json;

using InspectionService = ServiceTest;

TEST_F(InspectionService, JudgesCodExceedanceAgainstTheSiteStandard) {
    start_inspection("wwtp-east");
    auto m = ok("measurement.add", R"({"parameter": "COD", "value": 75, "unit": "mg/L",
                                      "sampling_point": "outfall"})")
                 .at("measurement")
                 .as_object();
    EXPECT_EQ(m.at("verdict").as_string(), "exceeds");
    EXPECT_DOUBLE_EQ(m.at("limit_max").as_double(), 50);
    EXPECT_DOUBLE_EQ(m.at("exceedance_ratio").as_double(), 0.5);
    EXPECT_EQ(m.at("limit_source").as_string(), "GB18918-2002/1A");
}

TEST_F(InspectionService, PermitLimitOverridesStandard) {
    start_inspection("wwtp-old-town");
    auto m = ok("measurement.add", R"({"parameter": "COD", "value": 45, "unit": "g/m3"})")
                 .at("measurement")
                 .as_object();
    EXPECT_EQ(m.at("verdict").as_string(), "exceeds");
    EXPECT_DOUBLE_EQ(m.at("limit_max").as_double(), 40);
    EXPECT_NE(std::string(m.at("limit_source").as_string()).find("permit"), std::string::npos);
}

TEST_F(InspectionService, AmmoniaUsesColdLimitWithWaterTemperature) {
    start_inspection("wwtp-east");
    auto cold = ok("measurement.add",
                   R"({"parameter": "NH3-N", "value": 7, "unit": "mg/L", "water_temp_c": 10})")
                    .at("measurement")
                    .as_object();
    EXPECT_EQ(cold.at("verdict").as_string(), "compliant");
    EXPECT_DOUBLE_EQ(cold.at("limit_max").as_double(), 8);
    auto warm = ok("measurement.add",
                   R"({"parameter": "NH3-N", "value": 7, "unit": "mg/L", "water_temp_c": 18})")
                    .at("measurement")
                    .as_object();
    EXPECT_EQ(warm.at("verdict").as_string(), "exceeds");
}

TEST_F(InspectionService, ComparesFieldAndOnlineReadings) {
    start_inspection("wwtp-east");
    ok("measurement.add", R"({"parameter": "COD", "value": 40, "unit": "mg/L",
                              "sampling_point": "outfall"})");
    ok("measurement.add", R"({"parameter": "COD", "value": 46, "unit": "mg/L",
                              "sampling_point": "outfall", "method": "online"})");
    auto list = ok("measurement.list");
    ASSERT_EQ(list.at("comparisons").as_array().size(), 1u);
    auto cmp = list.at("comparisons").as_array()[0].as_object();
    EXPECT_DOUBLE_EQ(cmp.at("field").as_double(), 40);
    EXPECT_DOUBLE_EQ(cmp.at("online").as_double(), 46);
    EXPECT_DOUBLE_EQ(cmp.at("difference").as_double(), 6);
    EXPECT_DOUBLE_EQ(cmp.at("relative_difference").as_double(), 0.15);
}

TEST_F(InspectionService, BadReadingsAreRefusedAndChangeNothing) {
    start_inspection();
    auto before = pending_outbox();
    EXPECT_NE(fails("measurement.add", R"({"parameter": "COD", "value": -3, "unit": "mg/L"})",
                    Errc::invalid_argument)
                  .find("negative"),
              std::string::npos);
    EXPECT_NE(fails("measurement.add", R"({"parameter": "XYZ", "value": 3, "unit": "mg/L"})",
                    Errc::invalid_argument)
                  .find("XYZ"),
              std::string::npos);
    EXPECT_NE(fails("measurement.add", R"({"parameter": "COD", "value": 3, "unit": "kg/L"})",
                    Errc::invalid_argument)
                  .find("kg/L"),
              std::string::npos);
    fails("measurement.add", R"({"parameter": "COD", "value": "3", "unit": "mg/L"})",
          Errc::invalid_argument);
    EXPECT_EQ(pending_outbox(), before);
}

TEST_F(InspectionService, UnknownSiteIsNamed) {
    auto message = fails("inspection.start",
                         R"({"site_id": "no-such-site", "kind": "wastewater_discharge",
                             "inspectors": ["A"]})",
                         Errc::not_found);
    EXPECT_NE(message.find("no-such-site"), std::string::npos);
}

TEST_F(InspectionService, OnlyOneInspectionIsOpenAtATime) {
    start_inspection();
    fails("inspection.start",
          R"({"site_id": "wwtp-east", "kind": "wastewater_discharge", "inspectors": ["A"]})",
          Errc::conflict);
    ok("inspection.close", R"({"verdict": "COD above limit at the outfall"})");
    fails("measurement.add", R"({"parameter": "COD", "value": 3, "unit": "mg/L"})", Errc::conflict);
    start_inspection();
}

TEST_F(InspectionService, RectificationsBecomeOverdueAfterDeadline) {
    start_inspection();
    const std::int64_t day = 86'400'000;
    auto item = ok("rectification.add",
                   R"({"problem": "Leachate channel blocked", "responsible_party": "Yard operator",
                       "deadline_ms": )" +
                       std::to_string(now_ms_ + 7 * day) + "}")
                    .at("rectification")
                    .as_object();
    EXPECT_FALSE(item.at("overdue").as_bool());
    EXPECT_TRUE(
        ok("rectification.list", R"({"overdue": true})").at("rectifications").as_array().empty());
    now_ms_ += 8 * day;
    auto overdue = ok("rectification.list", R"({"overdue": true})").at("rectifications").as_array();
    ASSERT_EQ(overdue.size(), 1u);
    ok("rectification.verify", R"({"rectification_id": ")" +
                                   std::string(item.at("id").as_string()) +
                                   R"(", "outcome": "verified"})");
    EXPECT_TRUE(
        ok("rectification.list", R"({"overdue": true})").at("rectifications").as_array().empty());
}

TEST_F(InspectionService, DocumentSummaryCountsBatches) {
    ok("document.add",
       R"({"batch_number": 1, "items": 10, "documents": 80, "topics": ["permits"]})");
    ok("document.add", R"({"batch_number": 2, "items": 3, "documents": 6})");
    fails("document.add", R"({"batch_number": 2, "items": 3, "documents": 6})", Errc::conflict);
    fails("document.add", R"({"batch_number": 3, "items": 5, "documents": 2})",
          Errc::invalid_argument);
    EXPECT_EQ(ok("document.summary").at("text").as_string(), "2 batches, 13 items, 86 documents");
}

TEST_F(InspectionService, VerifyPassesThenNamesAlteredMeasurement) {
    start_inspection();
    auto m = ok("measurement.add", R"({"parameter": "TP", "value": 0.8, "unit": "mg/L"})");
    ok("measurement.add", R"({"parameter": "SS", "value": 8, "unit": "mg/L"})");
    auto report = ok("verify");
    EXPECT_TRUE(report.at("ok").as_bool()) << json::serialize(report);
    std::string id(m.at("measurement").at("id").as_string());

    // Someone edits the reading in the database file behind the daemon's back.
    {
        auto db = store::Database::open(dir_ / "data" / "fieldlog.db");
        ASSERT_TRUE(db);
        auto stmt = db->prepare("UPDATE measurements SET value = 0.4 WHERE id = ?1");
        ASSERT_TRUE(stmt);
        (*stmt)->bind(1, id);
        ASSERT_TRUE((*stmt)->run());
    }
    report = ok("verify");
    EXPECT_FALSE(report.at("ok").as_bool());
    auto problems = report.at("problems").as_array();
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].at("record_id").as_string(), id);
    EXPECT_EQ(problems[0].at("kind").as_string(), "measurement");
}

TEST_F(InspectionService, ExportHoldsInspectionWithItsReadings) {
    start_inspection();
    ok("measurement.add", R"({"parameter": "COD", "value": 75, "unit": "mg/L"})");
    auto exported = ok("export", R"({"from_ms": 0, "to_ms": 9000000000000})");
    auto inspections = exported.at("inspections").as_array();
    ASSERT_EQ(inspections.size(), 1u);
    EXPECT_EQ(inspections[0].at("measurements").as_array().size(), 1u);
    EXPECT_EQ(exported.at("device_id").as_string(), "test-device");
    fails("export", R"({"from_ms": 10, "to_ms": 5})", Errc::invalid_argument);
}

TEST_F(InspectionService, DeviceLogKeepsNewestEntriesAndStillVerifies) {
    for (int i = 0; i < 5; ++i) {
        service_->log("info", "test", "entry " + std::to_string(i));
    }
    auto entries = ok("logs", R"({"limit": 3})").at("entries").as_array();
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_EQ(entries[0].at("message").as_string(), "entry 4");
    EXPECT_TRUE(ok("verify").at("ok").as_bool());
}

TEST_F(InspectionService, RecordsTakeTheFixOfTheirRequest) {
    fix_ = Fix{30.5, 114.25, 1'795'564'799'000};
    auto started = ok("inspection.start", R"({"site_id": "wwtp-east",
        "kind": "wastewater_discharge", "inspectors": ["A"]})")
                       .at("inspection")
                       .as_object();
    EXPECT_EQ(started.at("lat").as_double(), 30.5);
    EXPECT_EQ(started.at("lon").as_double(), 114.25);
    EXPECT_EQ(started.at("gnss_time_ms").as_int64(), 1'795'564'799'000);
    auto m = ok("measurement.add", R"({"parameter": "COD", "value": 75, "unit": "mg/L"})")
                 .at("measurement")
                 .as_object();
    EXPECT_EQ(m.at("lat").as_double(), 30.5);
    EXPECT_EQ(m.at("lon").as_double(), 114.25);
    EXPECT_EQ(m.at("gnss_time_ms").as_int64(), 1'795'564'799'000);
    ok("inspection.close");

    // A position typed at the start wins over the receiver's; the GNSS time is still the fix's.
    auto typed = ok("inspection.start", R"({"site_id": "wwtp-east",
        "kind": "wastewater_discharge", "inspectors": ["A"], "lat": 31.25, "lon": 115.5})")
                     .at("inspection")
                     .as_object();
    EXPECT_EQ(typed.at("lat").as_double(), 31.25);
    EXPECT_EQ(typed.at("lon").as_double(), 115.5);
    EXPECT_EQ(typed.at("gnss_time_ms").as_int64(), 1'795'564'799'000);

    fix_.reset();
    auto unplaced = ok("measurement.add", R"({"parameter": "SS", "value": 8, "unit": "mg/L"})")
                        .at("measurement")
                        .as_object();
    EXPECT_TRUE(unplaced.at("lat").is_null());
    EXPECT_TRUE(unplaced.at("gnss_time_ms").is_null());
    EXPECT_TRUE(ok("verify").at("ok").as_bool());
}

// The head is signed lazily: status shows how far the signature reaches, and verify signs
// the newest entry before it checks, so nothing it reports is left unsigned.
class LazilySignedHead : public ServiceTest {
protected:
    LazilySignedHead() { head_sign_interval_ = std::chrono::hours(24); }
};

TEST_F(LazilySignedHead, StatusShowsTheSignedHeadTrailingUntilVerifySignsIt) {
    start_inspection();
    ok("measurement.add", R"({"parameter": "COD", "value": 75, "unit": "mg/L"})");
    ok("measurement.add", R"({"parameter": "SS", "value": 8, "unit": "mg/L"})");
    auto before = ok("status").at("outbox").as_object();
    const std::int64_t head = before.at("head_seq").as_int64();
    ASSERT_GE(head, 3);
    EXPECT_LT(before.at("signed_head_seq").as_int64(), head);

    auto report = ok("verify");
    EXPECT_TRUE(report.at("ok").as_bool()) << json::serialize(report);
    EXPECT_EQ(report.at("head_seq").as_int64(), head);
    EXPECT_EQ(report.at("unsigned_entries").as_int64(), 0);

    auto after = ok("status").at("outbox").as_object();
    EXPECT_EQ(after.at("head_seq").as_int64(), head);
    EXPECT_EQ(after.at("signed_head_seq").as_int64(), head);
}

TEST_F(InspectionService, InspectionShowCarriesItsMarksAsMarkListReturnsThem) {
    auto first = start_inspection();
    ok("mark.add", R"({"label": "outfall"})");
    ok("mark.add", R"({"label": "drums", "source": "button"})");
    ok("inspection.close");
    auto second = start_inspection("hw-store-c7");

    auto shown = ok("inspection.show", R"({"inspection_id": ")" + first + R"("})");
    const auto& marks = shown.at("marks").as_array();
    ASSERT_EQ(marks.size(), 2u);
    EXPECT_EQ(marks.at(0).at("label").as_string(), "outfall");
    EXPECT_EQ(marks.at(1).at("source").as_string(), "button");
    EXPECT_EQ(shown.at("marks"),
              ok("mark.list", R"({"inspection_id": ")" + first + R"("})").at("marks"));
    auto other = ok("inspection.show", R"({"inspection_id": ")" + second + R"("})");
    EXPECT_TRUE(other.at("marks").as_array().empty());
}

TEST_F(InspectionService, UnknownOperationAndArgumentsAreRefused) {
    fails("inspection.teleport", "{}", Errc::invalid_argument);
    auto message = fails("status", R"({"verbose": true})", Errc::invalid_argument);
    EXPECT_NE(message.find("verbose"), std::string::npos);
}

}  // namespace
}  // namespace fieldlog::domain::testing
