// The default ServerStore: one SQLite file in WAL mode with synchronous=FULL. A single writer
// thread owns the only write connection and commits whatever writes are waiting as one
// transaction (one fsync for many devices' batches); reads use a small pool of connections.
#pragma once

#include <filesystem>
#include <memory>

#include "fieldlog/server/server_store.hpp"

namespace fieldlog::server {

// Opens (creating if needed) and migrates the database at path. A database whose schema is
// newer than this build knows is refused.
[[nodiscard]] Result<std::unique_ptr<ServerStore>> open_sqlite_server_store(
    const std::filesystem::path& path);

// The schema version this build creates and understands (PRAGMA user_version).
int sqlite_server_schema_version();

}  // namespace fieldlog::server
