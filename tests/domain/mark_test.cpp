#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "service_fixture.hpp"

namespace fieldlog::domain::testing {
namespace {

using ::testing::HasSubstr;

class MarkTest : public ServiceTest {};

TEST_F(MarkTest, AddsAMarkToTheOpenInspectionWithTimeAndOutboxEntry) {
    auto inspection = start_inspection();
    auto before = pending_outbox();
    auto mark = ok("mark.add", R"({"label": "  outfall pipe  ", "source": "button"})")
                    .at("mark")
                    .as_object();
    EXPECT_EQ(mark.at("inspection_id").as_string(), inspection);
    EXPECT_EQ(mark.at("label").as_string(), "outfall pipe");
    EXPECT_EQ(mark.at("source").as_string(), "button");
    EXPECT_EQ(mark.at("device_time_ms").as_int64(), now_ms_.load());
    // No receiver here: no position, never a made-up one.
    EXPECT_TRUE(mark.at("gnss_time_ms").is_null());
    EXPECT_TRUE(mark.at("lat").is_null());
    EXPECT_TRUE(mark.at("lon").is_null());
    EXPECT_EQ(pending_outbox(), before + 1);
    EXPECT_TRUE(ok("verify").at("ok").as_bool());
}

TEST_F(MarkTest, DefaultsToAnUnlabelledMarkFromTheCommandLine) {
    start_inspection();
    auto mark = ok("mark.add").at("mark").as_object();
    EXPECT_EQ(mark.at("label").as_string(), "");
    EXPECT_EQ(mark.at("source").as_string(), "cli");
}

TEST_F(MarkTest, RefusesWhenNoInspectionIsOpen) {
    auto message = fails("mark.add", "{}", Errc::conflict);
    EXPECT_THAT(message, HasSubstr("no inspection is open"));
    start_inspection();
    ok("inspection.close");
    fails("mark.add", R"({"source": "button"})", Errc::conflict);
    EXPECT_EQ(pending_outbox(), 2);  // the start and the close, no mark
}

TEST_F(MarkTest, RejectsBadArguments) {
    start_inspection();
    EXPECT_THAT(fails("mark.add", R"({"source": "gpio"})", Errc::invalid_argument),
                HasSubstr("source"));
    EXPECT_THAT(fails("mark.add", R"({"label": 5})", Errc::invalid_argument), HasSubstr("label"));
    EXPECT_THAT(fails("mark.add", R"({"lat": 30.1})", Errc::invalid_argument), HasSubstr("lat"));
    EXPECT_THAT(fails("mark.add", R"({"label": ")" + std::string(300, 'x') + R"("})",
                      Errc::invalid_argument),
                HasSubstr("label"));
}

TEST_F(MarkTest, ListsMarksOfAnInspectionInTheOrderSet) {
    auto first = start_inspection();
    ok("mark.add", R"({"label": "gate"})");
    ok("mark.add", R"({"label": "drums"})");
    ok("inspection.close");
    auto second = start_inspection("hw-store-c7");
    ok("mark.add", R"({"label": "store"})");

    auto open = ok("mark.list");
    EXPECT_EQ(open.at("inspection_id").as_string(), second);
    ASSERT_EQ(open.at("marks").as_array().size(), 1u);

    auto earlier = ok("mark.list", R"({"inspection_id": ")" + first + R"("})");
    const auto& marks = earlier.at("marks").as_array();
    ASSERT_EQ(marks.size(), 2u);
    EXPECT_EQ(marks.at(0).at("label").as_string(), "gate");
    EXPECT_EQ(marks.at(1).at("label").as_string(), "drums");
    fails("mark.list", R"({"inspection_id": "nope"})", Errc::not_found);
}

TEST_F(MarkTest, ExportCarriesEachInspectionsMarks) {
    auto first = start_inspection();
    ok("mark.add", R"({"label": "gate"})");
    ok("mark.add", R"({"label": "drums", "source": "button"})");
    ok("inspection.close");
    start_inspection("hw-store-c7");

    auto exported = ok("export", R"({"from_ms": 0, "to_ms": 9000000000000})");
    const auto& inspections = exported.at("inspections").as_array();
    ASSERT_EQ(inspections.size(), 2u);
    const auto& marked =
        inspections.at(0).at("id").as_string() == first ? inspections.at(0) : inspections.at(1);
    const auto& unmarked = &marked == &inspections.at(0) ? inspections.at(1) : inspections.at(0);
    const auto& marks = marked.at("marks").as_array();
    ASSERT_EQ(marks.size(), 2u);
    EXPECT_EQ(marks.at(0).at("label").as_string(), "gate");
    EXPECT_EQ(marks.at(1).at("source").as_string(), "button");
    EXPECT_TRUE(unmarked.at("marks").as_array().empty());
}

TEST_F(MarkTest, PhotoAndMarkRefuseAClosedOrMissingInspectionAlike) {
    auto mark = fails("mark.add", "{}", Errc::conflict);
    EXPECT_THAT(mark, HasSubstr("mark.add: no inspection is open"));
    EXPECT_THAT(mark, ::testing::Not(HasSubstr("--inspection")));
    auto photo = fails("photo.add", R"({"path": "/nonexistent.jpg"})", Errc::conflict);
    EXPECT_THAT(photo, HasSubstr("photo.add: no inspection is open"));
    EXPECT_THAT(photo, HasSubstr("--inspection"));
}

}  // namespace
}  // namespace fieldlog::domain::testing
