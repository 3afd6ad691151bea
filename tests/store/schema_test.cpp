#include "fieldlog/store/schema.hpp"

#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace fieldlog::store {
namespace {

std::int64_t count(Database& db, std::string_view sql) {
    auto stmt = db.prepare(sql);
    EXPECT_TRUE(stmt);
    auto row = (*stmt)->step();
    EXPECT_TRUE(row && *row);
    auto n = (*stmt)->int64(0);
    (*stmt)->reset();
    return n;
}

TEST(Schema, MigratesEmptyDatabaseToLatest) {
    auto db = Database::open_memory();
    ASSERT_TRUE(db);
    ASSERT_TRUE(migrate(*db));
    EXPECT_EQ(schema_version(*db).value(), latest_schema_version());
    EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'device_log'"), 1);
    EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'photos'"), 1);
}

TEST(Schema, MigratingTwiceChangesNothing) {
    auto db = Database::open_memory();
    ASSERT_TRUE(db);
    ASSERT_TRUE(migrate(*db));
    ASSERT_TRUE(migrate(*db));
    EXPECT_EQ(schema_version(*db).value(), latest_schema_version());
}

TEST(Schema, UpgradesOlderSchemaKeepingItsData) {
    testing::TempDir dir;
    {
        auto db = Database::open(dir / "old.db");
        ASSERT_TRUE(db);
        ASSERT_TRUE(migrate(*db, 1));
        ASSERT_EQ(schema_version(*db).value(), 1);
        ASSERT_TRUE(db->exec(
            "INSERT INTO inspections (id, site_id, site_name, kind, inspectors, status, "
            "started_ms, notes, verdict, last_seq) VALUES ('i1', 'wwtp-east', 'East plant', "
            "'wastewater_discharge', '[\"A\"]', 'open', 1000, '', '', 1)"));
        EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'photos'"), 0);
    }
    auto db = Database::open(dir / "old.db");
    ASSERT_TRUE(db);
    ASSERT_TRUE(migrate(*db));
    EXPECT_EQ(schema_version(*db).value(), latest_schema_version());
    EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM inspections WHERE id = 'i1'"), 1);
    EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'photos'"), 1);
}

TEST(Schema, RefusesDatabaseFromNewerRelease) {
    auto db = Database::open_memory();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA user_version = 999"));
    auto migrated = migrate(*db);
    ASSERT_FALSE(migrated);
    EXPECT_EQ(migrated.error().code(), Errc::unavailable);
    EXPECT_NE(migrated.error().message().find("999"), std::string::npos);
}

TEST(Schema, MigrationVersionsAscendWithoutGaps) {
    int expected = 1;
    for (const Migration& m : device_migrations()) {
        EXPECT_EQ(m.version, expected++);
        EXPECT_FALSE(m.description.empty());
    }
}

}  // namespace
}  // namespace fieldlog::store
