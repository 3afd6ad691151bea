#include "fieldlog/domain/summaries.hpp"

#include <vector>

namespace fieldlog::domain {

namespace {

std::string counted(std::int64_t n, const char* singular, const char* plural) {
    return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

std::string with_findings(std::int64_t n, const char* label, const FindingCounts& f) {
    std::string out = std::to_string(n) + " " + label;
    std::vector<std::string> parts;
    if (f.substantiated > 0) parts.push_back(std::to_string(f.substantiated) + " substantiated");
    if (f.partly_substantiated > 0) {
        parts.push_back(std::to_string(f.partly_substantiated) + " partly");
    }
    if (f.not_substantiated > 0) parts.push_back(std::to_string(f.not_substantiated) + " not");
    if (!parts.empty()) {
        out += " (";
        for (std::size_t i = 0; i < parts.size(); ++i) {
            out += (i > 0 ? ", " : "") + parts[i];
        }
        out += ")";
    }
    return out;
}

}  // namespace

std::string complaint_summary_text(const ComplaintCounts& counts) {
    std::string out = counted(counts.total, "complaint", "complaints");
    std::vector<std::string> groups;
    if (counts.closed.total > 0)
        groups.push_back(with_findings(counts.closed.total, "closed", counts.closed));
    if (counts.stage_closed.total > 0) {
        groups.push_back(
            with_findings(counts.stage_closed.total, "stage-closed", counts.stage_closed));
    }
    if (counts.in_progress > 0)
        groups.push_back(std::to_string(counts.in_progress) + " in progress");
    for (std::size_t i = 0; i < groups.size(); ++i) {
        out += (i == 0 ? ": " : ", ") + groups[i];
    }
    return out;
}

std::string document_summary_text(const DocumentCounts& counts) {
    return counted(counts.batches, "batch", "batches") + ", " +
           counted(counts.items, "item", "items") + ", " +
           counted(counts.documents, "document", "documents");
}

}  // namespace fieldlog::domain
