// Where a new record belongs and where it was taken: the inspection it joins and the receiver's
// fix at the moment of the request (design invariant 6). Shared by the operations that add
// records to an inspection, so they refuse a closed or missing inspection in the same words and
// attach a fix the same way.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fieldlog/domain/service.hpp"

namespace fieldlog::domain::ops {

// The fix's fields as a record stores them; all empty without a fresh fix, never made up.
struct Placement {
    std::optional<double> lat;
    std::optional<double> lon;
    std::optional<std::int64_t> gnss_time_ms;
};

// Taken when the request arrives, not when its job runs, so a queued write keeps the position
// the inspector stood at.
Placement placement_of(const std::optional<Fix>& fix);

// Whether the operation lets the inspector name an inspection (--inspection), for the hint.
enum class NamedInspection { allowed, not_taken };

// The inspection a new record joins: the one id names, which must be open, else the open one.
// Errors start with op: conflict when none is open or the named one is closed, not_found when
// the named one does not exist.
[[nodiscard]] Result<boost::json::object> inspection_for_record(
    store::Database& db, std::string_view op, const std::optional<std::string>& id,
    NamedInspection named = NamedInspection::allowed);

}  // namespace fieldlog::domain::ops
