#include "fieldlog/store/store.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "fieldlog/canonical_json.hpp"
#include "fieldlog/files.hpp"
#include "temp_dir.hpp"

namespace fieldlog::store {
namespace {

namespace json = boost::json;

// A minimal record kind, so these tests exercise the store without the inspection domain.
RecordKind note_kind() {
    RecordKind kind;
    kind.name = "note";
    kind.list_sql = "SELECT id, last_seq FROM notes";
    kind.load = [](Database& db, std::string_view id) -> Result<std::optional<json::object>> {
        auto stmt = db.prepare("SELECT id, body FROM notes WHERE id = ?1");
        if (!stmt) return stmt.error();
        (*stmt)->bind(1, id);
        auto row = (*stmt)->step();
        if (!row) return row.error();
        if (!*row) return std::optional<json::object>();
        json::object out{{"id", (*stmt)->text(0)}, {"body", (*stmt)->text(1)}};
        (*stmt)->reset();
        return std::optional(std::move(out));
    };
    return kind;
}

Store::WriteJob put_note(std::string id, std::string body) {
    return [id = std::move(id), body = std::move(body)](WriteContext& ctx) -> Result<json::value> {
        if (body.empty()) {
            return Error(Errc::invalid_argument, "empty note");
        }
        auto stmt = ctx.db().prepare(
            "INSERT INTO notes (id, body, last_seq) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO "
            "UPDATE SET body = excluded.body, last_seq = excluded.last_seq");
        if (!stmt) return stmt.error();
        (*stmt)->bind(1, id).bind(2, body).bind(3, ctx.next_seq());
        if (auto done = (*stmt)->run(); !done) return done.error();
        auto seq = ctx.append(note_kind(), id, std::nullopt);
        if (!seq) return seq.error();
        return json::value(*seq);
    };
}

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override { reopen(); }

    void reopen(std::string device_id = "dev-1") {
        store_.reset();
        StoreOptions options;
        options.data_dir = dir_.path();
        options.device_id = std::move(device_id);
        options.wall_clock_ms = [] { return std::int64_t{1'700'000'000'000}; };
        auto opened = Store::open(options, {note_kind()});
        ASSERT_TRUE(opened) << opened.error().to_string();
        store_ = std::move(*opened);
        auto created = store_->write([](WriteContext& ctx) -> Result<json::value> {
            auto done = ctx.db().exec(
                "CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY, body TEXT NOT NULL, "
                "last_seq INTEGER NOT NULL)");
            if (!done) return done.error();
            return json::value();
        });
        ASSERT_TRUE(created);
    }

    // Tampering happens behind the store's back, as someone with the file would do it.
    void tamper(const std::string& sql) {
        store_.reset();
        auto db = Database::open(dir_ / "fieldlog.db");
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->exec(sql));
    }

    VerifyReport verify() {
        auto report = store_->verify();
        EXPECT_TRUE(report);
        return *report;
    }

    testing::TempDir dir_;
    std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, AppendsConsecutiveSequenceNumbersThatSurviveRestart) {
    EXPECT_EQ(store_->write(put_note("a", "one")).value().as_int64(), 1);
    EXPECT_EQ(store_->write(put_note("b", "two")).value().as_int64(), 2);
    reopen();
    EXPECT_EQ(store_->write(put_note("c", "three")).value().as_int64(), 3);
    auto stats = store_->outbox_stats();
    ASSERT_TRUE(stats);
    EXPECT_EQ(stats->pending_entries, 3);
    EXPECT_EQ(stats->head_seq, 3);
    EXPECT_TRUE(verify().ok());
}

TEST_F(StoreTest, FailedWriteLeavesNoTraceAndDoesNotConsumeSequence) {
    auto bad = store_->write(put_note("x", ""));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code(), Errc::invalid_argument);
    EXPECT_EQ(store_->write(put_note("a", "one")).value().as_int64(), 1);
    EXPECT_EQ(store_->outbox_stats()->pending_entries, 1);
}

TEST_F(StoreTest, ConcurrentWritersShareCommitsAndGetDistinctSequences) {
    constexpr int writers = 8;
    constexpr int per_writer = 50;
    std::vector<std::thread> threads;
    std::mutex mutex;
    std::set<std::int64_t> seqs;
    for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&, w] {
            for (int i = 0; i < per_writer; ++i) {
                auto seq = store_->write(
                    put_note("w" + std::to_string(w) + "-" + std::to_string(i), "body"));
                ASSERT_TRUE(seq);
                std::lock_guard lock(mutex);
                seqs.insert(seq->as_int64());
            }
        });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(seqs.size(), std::size_t{writers * per_writer});
    EXPECT_EQ(*seqs.begin(), 1);
    EXPECT_EQ(*seqs.rbegin(), writers * per_writer);
    EXPECT_TRUE(verify().ok());
}

TEST_F(StoreTest, UpdatedRecordVerifiesAgainstItsLatestEntry) {
    ASSERT_TRUE(store_->write(put_note("a", "draft")));
    ASSERT_TRUE(store_->write(put_note("a", "final")));
    auto report = verify();
    EXPECT_TRUE(report.ok());
    EXPECT_EQ(report.entries_checked, 2);
    EXPECT_EQ(report.records_checked, 1);
}

TEST_F(StoreTest, VerifyNamesAlteredRecord) {
    ASSERT_TRUE(store_->write(put_note("a", "one")));
    ASSERT_TRUE(store_->write(put_note("b", "two")));
    ASSERT_TRUE(store_->write(put_note("c", "three")));
    tamper("UPDATE notes SET body = 'forged' WHERE id = 'b'");
    reopen();
    auto report = verify();
    ASSERT_EQ(report.problems.size(), 1u);
    EXPECT_EQ(report.problems[0].seq, 2);
    EXPECT_EQ(report.problems[0].record_id, "b");
    EXPECT_NE(report.problems[0].what.find("altered"), std::string::npos);
}

TEST_F(StoreTest, VerifyNamesAlteredChainEntry) {
    ASSERT_TRUE(store_->write(put_note("a", "one")));
    ASSERT_TRUE(store_->write(put_note("b", "two")));
    tamper("UPDATE evidence_chain SET device_time_ms = 5 WHERE seq = 1");
    reopen();
    auto report = verify();
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.problems[0].seq, 1);
    EXPECT_NE(report.problems[0].what.find("entry 1"), std::string::npos);
}

TEST_F(StoreTest, VerifyNamesGapWhenEntryDeleted) {
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(store_->write(put_note("n" + std::to_string(i), "x")));
    }
    tamper("DELETE FROM outbox WHERE seq = 2; DELETE FROM evidence_chain WHERE seq = 2");
    reopen();
    auto report = verify();
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.problems[0].seq, 2);
    EXPECT_NE(report.problems[0].what.find("entry 2 is missing"), std::string::npos);
}

TEST_F(StoreTest, VerifyNamesDeletedRecord) {
    ASSERT_TRUE(store_->write(put_note("a", "one")));
    ASSERT_TRUE(store_->write(put_note("b", "two")));
    tamper("DELETE FROM notes WHERE id = 'a'");
    reopen();
    auto report = verify();
    ASSERT_EQ(report.problems.size(), 1u);
    EXPECT_EQ(report.problems[0].record_id, "a");
    EXPECT_NE(report.problems[0].what.find("removed"), std::string::npos);
}

TEST_F(StoreTest, VerifyNamesEntriesRemovedFromTheEnd) {
    ASSERT_TRUE(store_->write(put_note("a", "one")));
    ASSERT_TRUE(store_->write(put_note("b", "two")));
    tamper(
        "DELETE FROM outbox WHERE seq = 2; DELETE FROM evidence_chain WHERE seq = 2; "
        "DELETE FROM notes WHERE id = 'b'");
    reopen();
    auto report = verify();
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.problems[0].what.find("removed from the end"), std::string::npos);
}

TEST_F(StoreTest, VerifyRefusesHeadSignedByAnotherKey) {
    ASSERT_TRUE(store_->write(put_note("a", "one")));
    auto other = DeviceKey::generate();
    ASSERT_TRUE(other);
    // Re-sign the genuine head with a foreign key: contents intact, signer wrong.
    std::vector<std::uint8_t> hash;
    {
        store_.reset();
        auto db = Database::open(dir_ / "fieldlog.db");
        ASSERT_TRUE(db);
        auto stmt = db->prepare("SELECT seq, entry_hash FROM chain_head");
        ASSERT_TRUE(stmt && (*stmt)->step().value());
        auto seq = (*stmt)->int64(0);
        Sha256 head{};
        auto bytes = (*stmt)->blob(1);
        std::copy(bytes.begin(), bytes.end(), head.begin());
        (*stmt)->reset();
        auto sig = other->sign(head_message("dev-1", seq, head));
        auto update = db->prepare("UPDATE chain_head SET signature = ?1");
        ASSERT_TRUE(update);
        (*update)->bind_blob(1, sig);
        ASSERT_TRUE((*update)->run());
    }
    reopen();
    auto report = verify();
    ASSERT_EQ(report.problems.size(), 1u);
    EXPECT_NE(report.problems[0].what.find("signature does not verify"), std::string::npos);
}

TEST_F(StoreTest, RefusesDatabaseOfAnotherDevice) {
    store_.reset();
    StoreOptions options;
    options.data_dir = dir_.path();
    options.device_id = "dev-2";
    auto opened = Store::open(options, {note_kind()});
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code(), Errc::conflict);
    EXPECT_NE(opened.error().message().find("dev-1"), std::string::npos);
}

TEST_F(StoreTest, RefusesReplacedDeviceKey) {
    store_.reset();
    std::filesystem::remove(dir_ / "device.key");
    StoreOptions options;
    options.data_dir = dir_.path();
    options.device_id = "dev-1";
    auto opened = Store::open(options, {note_kind()});
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message().find("not the key"), std::string::npos);
}

TEST_F(StoreTest, ClosedStoreRefusesWork) {
    store_->close();
    auto result = store_->write(put_note("a", "one"));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), Errc::unavailable);
}

}  // namespace
}  // namespace fieldlog::store

namespace fieldlog::store {
namespace {

TEST_F(StoreTest, OutboxReadsInOrderWithinLimitsAndForgetsAcknowledgedEntries) {
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(store_->write(put_note("n" + std::to_string(i), "body")));
    }
    auto first = store_->read([](Database& db) -> Result<json::value> {
        auto entries = read_outbox(db, 0, 3, 1 << 20);
        if (!entries) return entries.error();
        json::array seqs;
        for (const auto& e : *entries) {
            EXPECT_EQ(sha256(e.payload), e.entry.payload_hash);
            EXPECT_EQ(compute_entry_hash(e.entry), e.entry.entry_hash);
            seqs.push_back(e.entry.seq);
        }
        return seqs;
    });
    ASSERT_TRUE(first);
    EXPECT_EQ(first->as_array(), (json::array{1, 2, 3}));
    auto by_bytes = store_->read([](Database& db) -> Result<json::value> {
        auto entries = read_outbox(db, 3, 100, 1);
        if (!entries) return entries.error();
        return json::value(static_cast<std::int64_t>(entries->size()));
    });
    EXPECT_EQ(by_bytes->as_int64(), 1);  // the first entry always goes, however large
    auto forgot = store_->write([](WriteContext& ctx) -> Result<json::value> {
        auto n = acknowledge_outbox(ctx.db(), 3);
        if (!n) return n.error();
        return json::value(*n);
    });
    EXPECT_EQ(forgot->as_int64(), 3);
    EXPECT_EQ(store_->outbox_stats()->pending_entries, 2);
    EXPECT_TRUE(verify().ok());
}

TEST_F(StoreTest, SignedBatchHeadVerifiesWithDevicePublicKey) {
    ASSERT_TRUE(store_->write(put_note("a", "one")));
    Sha256 hash = sha256("entry");
    auto signature = store_->sign_head(1, hash);
    EXPECT_TRUE(verify_signature(store_->public_key(), head_message("dev-1", 1, hash), signature));
    EXPECT_FALSE(verify_signature(store_->public_key(), head_message("dev-1", 2, hash), signature));
}

}  // namespace
}  // namespace fieldlog::store

namespace fieldlog::store {
namespace {

TEST_F(StoreTest, SecondStoreOnTheSameDataDirIsRefusedWhileTheFirstIsOpen) {
    StoreOptions options;
    options.data_dir = dir_.path();
    options.device_id = "dev-1";
    auto second = Store::open(options, {note_kind()});
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code(), Errc::conflict);
    EXPECT_NE(second.error().message().find("already using the data directory"), std::string::npos);
    store_.reset();
    auto after_close = Store::open(options, {note_kind()});
    EXPECT_TRUE(after_close);
}

}  // namespace
}  // namespace fieldlog::store

namespace fieldlog::store {
namespace {

// The entry hash input is written out by hand for speed; it must stay byte for byte the
// canonical JSON of the same fields, which other implementations reproduce.
TEST(EvidenceChain, EntryHashInputIsTheCanonicalJsonOfItsFields) {
    const std::vector<std::string> ids{"plain", "with \"quotes\" and \\ slash", "控制 unicode",
                                       "tab\tand\nnewline", ""};
    std::int64_t seq = 1;
    for (const auto& id : ids) {
        for (bool with_gnss : {false, true}) {
            ChainEntry e;
            e.seq = seq++;
            e.kind = "measurement";
            e.record_id = id;
            e.action = "put";
            e.payload_hash = sha256(id);
            e.prev_hash = sha256("prev" + id);
            e.device_time_ms = 1'795'575'845'123 + e.seq;
            if (with_gnss) e.gnss_time_ms = -5;
            json::object fields{{"v", 1},
                                {"seq", e.seq},
                                {"kind", e.kind},
                                {"record_id", e.record_id},
                                {"action", e.action},
                                {"payload_hash", to_hex(e.payload_hash)},
                                {"prev_hash", to_hex(e.prev_hash)},
                                {"device_time_ms", e.device_time_ms},
                                {"gnss_time_ms", with_gnss ? json::value(-5) : json::value()}};
            EXPECT_EQ(entry_hash_fields_json(e), canonical_json(fields));
            EXPECT_EQ(compute_entry_hash(e), sha256(canonical_json(fields)));
        }
    }
}

}  // namespace
}  // namespace fieldlog::store
