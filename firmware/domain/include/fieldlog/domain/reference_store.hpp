// The reference data a device downloaded from the office, in the device store's reference_*
// tables (schema migration 6): one version at a time, replaced whole by a newer one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fieldlog/config/reference_set.hpp"
#include "fieldlog/store/database.hpp"

namespace fieldlog::domain {

struct StoredReferenceVersion {
    std::int64_t version = 0;
    std::string sha256;
    std::int64_t published_ms = 0;
    std::int64_t applied_ms = 0;
};

struct StoredReference {
    StoredReferenceVersion version;
    config::ReferenceSet set;
};

// The version the tables hold, or nothing while the device has none.
[[nodiscard]] Result<std::optional<StoredReferenceVersion>> stored_reference_version(
    store::Database& db);

// Replaces the tables' content by the bundle's inside the caller's transaction (a store write
// job): the caller's rollback undoes every row of it, so a failure anywhere leaves the previous
// version whole. A version not newer than the one held is refused with Errc::conflict.
[[nodiscard]] Status save_reference(store::Database& db, const config::ReferenceBundle& bundle,
                                    std::int64_t applied_ms);

// The set the tables hold, or nothing while the device has none.
[[nodiscard]] Result<std::optional<StoredReference>> load_reference(store::Database& db);

// An assigned complaint case by its number, when the office assigned it to this device.
[[nodiscard]] Result<std::optional<config::AssignedComplaint>> assigned_complaint(
    store::Database& db, std::string_view case_number);

}  // namespace fieldlog::domain
