// The record kinds the evidence chain covers, each read back in the exact JSON form that was
// hashed when it was written.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "fieldlog/store/evidence.hpp"

namespace fieldlog::domain {

const store::RecordKind& inspection_kind();
const store::RecordKind& measurement_kind();
const store::RecordKind& photo_kind();
const store::RecordKind& complaint_kind();
const store::RecordKind& document_batch_kind();
const store::RecordKind& rectification_kind();
const store::RecordKind& device_log_kind();
const store::RecordKind& mark_kind();

std::vector<store::RecordKind> all_record_kinds();

// Reads one record, or nothing when it does not exist.
[[nodiscard]] Result<std::optional<boost::json::object>> load_record(store::Database& db,
                                                                     const store::RecordKind& kind,
                                                                     std::string_view id);

// Runs a query whose columns are exactly the kind's record columns (SELECT <columns> ...),
// after binding with bind(), and returns the records in query order.
[[nodiscard]] Result<std::vector<boost::json::object>> query_records(
    store::Database& db, const store::RecordKind& kind, std::string_view where_and_order,
    const std::function<void(store::Statement&)>& bind);

}  // namespace fieldlog::domain
