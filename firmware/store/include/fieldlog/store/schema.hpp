// The device database's schema, as an ordered list of migrations applied at start.
#pragma once

#include <span>
#include <string_view>

#include "fieldlog/store/database.hpp"

namespace fieldlog::store {

struct Migration {
    int version;
    std::string_view description;
    std::string_view sql;
};

// Every migration the device schema has had, oldest first.
std::span<const Migration> device_migrations();
int latest_schema_version();

// Brings the database to target_version (default: the latest), each step in its own
// transaction, and records the version in PRAGMA user_version. A database newer than this
// build knows is refused rather than guessed at.
[[nodiscard]] Status migrate(Database& db, int target_version = 0);
[[nodiscard]] Result<int> schema_version(Database& db);

}  // namespace fieldlog::store
