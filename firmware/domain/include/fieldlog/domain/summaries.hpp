// The one-line summaries inspection teams publish, e.g. "11 complaints: 2 closed (1
// substantiated, 1 not), 8 stage-closed (3 substantiated, 4 partly, 1 not), 1 in progress".
#pragma once

#include <cstdint>
#include <string>

namespace fieldlog::domain {

struct FindingCounts {
    std::int64_t total = 0;
    std::int64_t substantiated = 0;
    std::int64_t partly_substantiated = 0;
    std::int64_t not_substantiated = 0;
};

struct ComplaintCounts {
    std::int64_t total = 0;
    FindingCounts closed;
    FindingCounts stage_closed;
    std::int64_t in_progress = 0;  // received, forwarded or investigating
};

std::string complaint_summary_text(const ComplaintCounts& counts);

struct DocumentCounts {
    std::int64_t batches = 0;
    std::int64_t items = 0;
    std::int64_t documents = 0;
};

// "12 batches, 123 items, 886 documents"
std::string document_summary_text(const DocumentCounts& counts);

}  // namespace fieldlog::domain
