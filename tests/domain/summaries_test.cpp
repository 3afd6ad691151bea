#include "fieldlog/domain/summaries.hpp"

#include <gtest/gtest.h>

namespace fieldlog::domain {
namespace {

TEST(Summaries, ComplaintTextMatchesPublishedForm) {
    ComplaintCounts counts;
    counts.total = 11;
    counts.closed = {2, 1, 0, 1};
    counts.stage_closed = {8, 3, 4, 1};
    counts.in_progress = 1;
    EXPECT_EQ(complaint_summary_text(counts),
              "11 complaints: 2 closed (1 substantiated, 1 not), 8 stage-closed (3 "
              "substantiated, 4 partly, 1 not), 1 in progress");
}

TEST(Summaries, ComplaintTextLeavesOutEmptyGroupsAndUsesSingular) {
    ComplaintCounts counts;
    counts.total = 1;
    counts.in_progress = 1;
    EXPECT_EQ(complaint_summary_text(counts), "1 complaint: 1 in progress");
    EXPECT_EQ(complaint_summary_text(ComplaintCounts{}), "0 complaints");
}

TEST(Summaries, DocumentTextCountsBatchesItemsAndDocuments) {
    EXPECT_EQ(document_summary_text({12, 123, 886}), "12 batches, 123 items, 886 documents");
    EXPECT_EQ(document_summary_text({1, 1, 1}), "1 batch, 1 item, 1 document");
}

}  // namespace
}  // namespace fieldlog::domain
