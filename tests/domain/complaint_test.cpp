#include <gtest/gtest.h>

#include "service_fixture.hpp"

namespace fieldlog::domain::testing {
namespace {

using ComplaintTest = ServiceTest;

constexpr std::int64_t minute = 60'000;

TEST_F(ComplaintTest, SummaryReadsLikeThePublishedForm) {
    struct Case {
        const char* status;
        const char* finding;
    };
    const Case cases[] = {
        {"closed", "substantiated"},
        {"closed", "not_substantiated"},
        {"stage_closed", "substantiated"},
        {"stage_closed", "substantiated"},
        {"stage_closed", "substantiated"},
        {"stage_closed", "partly_substantiated"},
        {"stage_closed", "partly_substantiated"},
        {"stage_closed", "partly_substantiated"},
        {"stage_closed", "partly_substantiated"},
        {"stage_closed", "not_substantiated"},
        {"investigating", nullptr},
    };
    int n = 0;
    for (const Case& c : cases) {
        std::string id = "X3-" + std::to_string(++n);
        ok("complaint.add", R"({"case_number": ")" + id + R"(", "batch_number": 3})");
        ok("complaint.forward",
           R"({"case_number": ")" + id + R"(", "responsible_unit": "District bureau"})");
        std::string update = R"({"case_number": ")" + id + R"(", "status": ")" + c.status + "\"";
        if (c.finding != nullptr) update += R"(, "finding": ")" + std::string(c.finding) + "\"";
        ok("complaint.update", update + "}");
    }
    auto summary = ok("complaint.summary");
    EXPECT_EQ(summary.at("text").as_string(),
              "11 complaints: 2 closed (1 substantiated, 1 not), 8 stage-closed (3 "
              "substantiated, 4 partly, 1 not), 1 in progress");
    EXPECT_EQ(summary.at("forwarded_late").as_int64(), 0);
}

TEST_F(ComplaintTest, ForwardingLaterThanOneHourIsFlagged) {
    ok("complaint.add", R"({"case_number": "A-1", "batch_number": 1, "received_ms": )" +
                            std::to_string(now_ms_) + "}");
    auto on_time = ok("complaint.forward", R"({"case_number": "A-1", "responsible_unit": "U",
                                               "forwarded_ms": )" +
                                               std::to_string(now_ms_ + 59 * minute) + "}");
    EXPECT_FALSE(on_time.at("complaint").at("forward_late").as_bool());
    ok("complaint.add", R"({"case_number": "A-2", "batch_number": 1, "received_ms": )" +
                            std::to_string(now_ms_) + "}");
    auto late = ok("complaint.forward", R"({"case_number": "A-2", "responsible_unit": "U",
                                            "forwarded_ms": )" +
                                            std::to_string(now_ms_ + 61 * minute) + "}");
    EXPECT_TRUE(late.at("complaint").at("forward_late").as_bool());
    EXPECT_EQ(ok("complaint.summary").at("forwarded_late").as_int64(), 1);
}

TEST_F(ComplaintTest, ClosingNeedsAFindingAndClosedIsFinal) {
    ok("complaint.add", R"({"case_number": "B-1", "batch_number": 2})");
    fails("complaint.update", R"({"case_number": "B-1", "status": "closed"})",
          Errc::invalid_argument);
    ok("complaint.update",
       R"({"case_number": "B-1", "status": "closed", "finding": "not_substantiated"})");
    fails("complaint.update", R"({"case_number": "B-1", "notes": "more"})", Errc::conflict);
    fails("complaint.add", R"({"case_number": "B-1", "batch_number": 2})", Errc::conflict);
    fails("complaint.forward", R"({"case_number": "nope", "responsible_unit": "U"})",
          Errc::not_found);
}

TEST_F(ComplaintTest, LinksVerifyingInspection) {
    ok("complaint.add", R"({"case_number": "C-1", "batch_number": 1})");
    std::string inspection = start_inspection("dyeworks-b12");
    auto linked = ok("complaint.update",
                     R"({"case_number": "C-1", "status": "investigating", "inspection_id": ")" +
                         inspection + "\"}");
    auto ids = linked.at("complaint").at("inspection_ids").as_array();
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_EQ(ids[0].as_string(), inspection);
    fails("complaint.update", R"({"case_number": "C-1", "inspection_id": "nope"})",
          Errc::not_found);
}

}  // namespace
}  // namespace fieldlog::domain::testing
