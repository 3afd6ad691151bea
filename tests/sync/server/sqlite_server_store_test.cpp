#include "fieldlog/server/sqlite_server_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fieldlog/store/database.hpp"
#include "temp_dir.hpp"

namespace fieldlog::server {
namespace {

using ::testing::HasSubstr;

IncomingEntry log_entry(const std::string& device_id, std::int64_t seq, const Sha256& prev) {
    IncomingEntry in;
    in.payload = R"({"id":)" + std::to_string(seq) + "}";
    in.entry.seq = seq;
    in.entry.kind = "device_log";
    in.entry.record_id = std::to_string(seq);
    in.entry.action = "put";
    in.entry.payload_hash = sha256(in.payload);
    in.entry.prev_hash = seq == 1 ? store::genesis_hash(device_id) : prev;
    in.entry.device_time_ms = seq;
    in.entry.entry_hash = store::compute_entry_hash(in.entry);
    in.time_ms = seq;
    return in;
}

Batch batch_of(const std::string& device_id, std::int64_t count) {
    Batch b;
    b.device_id = device_id;
    Sha256 prev{};
    for (std::int64_t seq = 1; seq <= count; ++seq) {
        b.entries.push_back(log_entry(device_id, seq, prev));
        prev = b.entries.back().entry.entry_hash;
    }
    b.head.seq = count;
    b.head.entry_hash = prev;
    b.received_ms = 42;
    return b;
}

class SqliteServerStoreTest : public ::testing::Test {
protected:
    std::unique_ptr<ServerStore> open() {
        auto store = open_sqlite_server_store(dir_ / "server.db");
        EXPECT_TRUE(store) << store.error().message();
        return std::move(*store);
    }
    fieldlog::testing::TempDir dir_;
};

TEST_F(SqliteServerStoreTest, CreatesTheSchemaInWalModeAndKeepsDataAcrossReopen) {
    {
        auto store = open();
        ASSERT_TRUE(store->enrol_device("d1", sha256("t"), std::nullopt, 1));
        auto result = store->ingest(batch_of("d1", 3));
        ASSERT_TRUE(result);
        EXPECT_EQ(result->status, IngestStatus::accepted);
    }
    auto db = store::Database::open(dir_ / "server.db").value();
    auto* mode = db.prepare("PRAGMA journal_mode").value();
    ASSERT_TRUE(mode->step().value());
    EXPECT_EQ(mode->text(0), "wal");
    mode->reset();
    auto* version = db.prepare("PRAGMA user_version").value();
    ASSERT_TRUE(version->step().value());
    EXPECT_EQ(version->int64(0), sqlite_server_schema_version());
    version->reset();

    auto store = open();
    auto device = store->device("d1").value();
    ASSERT_TRUE(device);
    EXPECT_EQ(device->acked_seq, 3);
    EXPECT_EQ(device->head_seq, 3);
    EXPECT_EQ(store->entries("d1", 0, 100).value().size(), 3u);
    EXPECT_EQ(store->entries("d1", 1, 1).value().at(0).entry.seq, 2);
}

TEST_F(SqliteServerStoreTest, RefusesADatabaseFromANewerVersion) {
    {
        auto db = store::Database::open(dir_ / "server.db").value();
        ASSERT_TRUE(db.exec("PRAGMA user_version = 99"));
    }
    auto store = open_sqlite_server_store(dir_ / "server.db");
    ASSERT_FALSE(store);
    EXPECT_THAT(store.error().message(), HasSubstr("newer than this fieldlog-server knows"));
}

TEST_F(SqliteServerStoreTest, IngestForARevokedOrUnknownDeviceStoresNothing) {
    auto store = open();
    auto unknown = store->ingest(batch_of("ghost", 2)).value();
    EXPECT_EQ(unknown.status, IngestStatus::unauthorized);
    ASSERT_TRUE(store->enrol_device("d1", sha256("t"), std::nullopt, 1));
    ASSERT_TRUE(store->revoke_device("d1", 5));
    auto revoked = store->ingest(batch_of("d1", 2)).value();
    EXPECT_EQ(revoked.status, IngestStatus::unauthorized);
    EXPECT_TRUE(store->entries("d1", 0, 10).value().empty());
    EXPECT_EQ(store->device_credential("d1").value()->revoked_ms, 5);
}

TEST_F(SqliteServerStoreTest, EnrollingTwiceIsAConflict) {
    auto store = open();
    ASSERT_TRUE(store->enrol_device("d1", sha256("t"), std::nullopt, 1));
    auto again = store->enrol_device("d1", sha256("u"), std::nullopt, 2);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), Errc::conflict);
    EXPECT_EQ(store->device_credential("d1").value()->token_sha256, sha256("t"));
}

TEST_F(SqliteServerStoreTest, BlobStateRoundTrips) {
    auto store = open();
    EXPECT_FALSE(store->blob("ab").value());
    BlobState b{"ab", 100, 40, false, "partial/ab.part", 7};
    ASSERT_TRUE(store->put_blob(b));
    auto read = store->blob("ab").value();
    ASSERT_TRUE(read);
    EXPECT_EQ(read->offset, 40);
    EXPECT_FALSE(read->complete);
    ASSERT_TRUE(store->delete_blob("ab"));
    EXPECT_FALSE(store->blob("ab").value());
    b.complete = true;
    ASSERT_TRUE(store->put_blob(b));
    // A complete blob is evidence some record may rest on: it is never deleted.
    ASSERT_TRUE(store->delete_blob("ab"));
    EXPECT_TRUE(store->blob("ab").value());
}

}  // namespace
}  // namespace fieldlog::server
