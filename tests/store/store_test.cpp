#include "fieldlog/store/store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "fieldlog/canonical_json.hpp"
#include "fieldlog/files.hpp"
#include "fieldlog/store/schema.hpp"
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

// With hand_record the job gives the store the record it wrote, as the domain's writes do;
// without, the store reads it back through the kind's loader.
Store::WriteJob put_note(std::string id, std::string body, bool hand_record = false) {
    return [id = std::move(id), body = std::move(body),
            hand_record](WriteContext& ctx) -> Result<json::value> {
        if (body.empty()) {
            return Error(Errc::invalid_argument, "empty note");
        }
        auto stmt = ctx.db().prepare(
            "INSERT INTO notes (id, body, last_seq) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO "
            "UPDATE SET body = excluded.body, last_seq = excluded.last_seq");
        if (!stmt) return stmt.error();
        (*stmt)->bind(1, id).bind(2, body).bind(3, ctx.next_seq());
        if (auto done = (*stmt)->run(); !done) return done.error();
        auto seq = hand_record ? ctx.append(note_kind(), id,
                                            json::object{{"id", id}, {"body", body}}, std::nullopt)
                               : ctx.append(note_kind(), id, std::nullopt);
        if (!seq) return seq.error();
        return json::value(*seq);
    };
}

Store::WriteJob put_built_note(std::string id, std::string body) {
    return put_note(std::move(id), std::move(body), true);
}

// Never reached within a test: the head is signed only when something asks for it.
constexpr std::chrono::milliseconds never = std::chrono::hours(24);

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override { reopen(); }

    void reopen(std::string device_id = "dev-1",
                std::chrono::milliseconds sign_interval = std::chrono::seconds(1)) {
        store_.reset();
        StoreOptions options;
        options.data_dir = dir_.path();
        options.device_id = std::move(device_id);
        options.wall_clock_ms = [] { return std::int64_t{1'700'000'000'000}; };
        options.head_sign_interval = sign_interval;
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
        auto update = db->prepare("UPDATE signed_head SET signature = ?1");
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
    const std::vector<std::string> ids{
        "plain", "with \"quotes\" and \\ slash", "控制 unicode",   "tab\tand\nnewline",
        "",      "del \x7f, solidus / and \x01", "\x1f at the end"};
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

namespace fieldlog::store {
namespace {

OutboxStats stats_of(Store& store) {
    auto stats = store.outbox_stats();
    EXPECT_TRUE(stats);
    return stats ? *stats : OutboxStats{};
}

TEST_F(StoreTest, RecordHashedAsBuiltVerifiesLikeOneReadBack) {
    ASSERT_TRUE(store_->write(put_built_note("a", "one")));
    ASSERT_TRUE(store_->write(put_note("b", "two")));
    ASSERT_TRUE(store_->write(put_built_note("b", "three")));
    auto report = verify();
    EXPECT_TRUE(report.ok());
    EXPECT_EQ(report.entries_checked, 3);
    tamper("UPDATE notes SET body = 'forged' WHERE id = 'a'");
    reopen();
    report = verify();
    ASSERT_EQ(report.problems.size(), 1u);
    EXPECT_EQ(report.problems[0].record_id, "a");
}

TEST_F(StoreTest, CommitsDoNotSignTheHeadUntilASignedReadAsks) {
    reopen("dev-1", never);
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(store_->write(put_note("n" + std::to_string(i), "x")));
    }
    auto before = stats_of(*store_);
    EXPECT_EQ(before.head_seq, 3);
    EXPECT_EQ(before.signed_head_seq, 0);

    auto signed_read = std::make_shared<std::promise<std::int64_t>>();
    store_->submit_signed_read(
        [](Database& db) -> Result<json::value> {
            auto stmt = db.prepare("SELECT seq FROM signed_head");
            if (!stmt) return stmt.error();
            auto row = (*stmt)->step();
            if (!row || !*row) return Error(Errc::internal, "no signed head");
            std::int64_t seq = (*stmt)->int64(0);
            (*stmt)->reset();
            return json::value(seq);
        },
        [signed_read](Result<json::value> r) { signed_read->set_value(r ? r->as_int64() : -1); });
    EXPECT_EQ(signed_read->get_future().get(), 3);
    EXPECT_EQ(stats_of(*store_).signed_head_seq, 3);
}

TEST_F(StoreTest, VerifyChecksTheUnsignedTailByItsLinks) {
    reopen("dev-1", never);
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(store_->write(put_note("n" + std::to_string(i), "x")));
        if (i == 1) {
            ASSERT_TRUE(verify().ok());  // signs entry 2
        }
    }
    ASSERT_EQ(stats_of(*store_).signed_head_seq, 2);
    // What verify finds without signing first: the head signed at 2, entries 3 and 4 after it.
    auto report = store_->read([this](Database& db) -> Result<json::value> {
        auto r = verify_evidence(db, "dev-1", store_->public_key(), {note_kind()});
        if (!r) return r.error();
        EXPECT_TRUE(r->ok());
        EXPECT_EQ(r->head_seq, 2);
        EXPECT_EQ(r->unsigned_entries, 2);
        return json::value();
    });
    ASSERT_TRUE(report);
}

TEST_F(StoreTest, TimerSignsTheHeadAfterWritesStop) {
    reopen("dev-1", std::chrono::milliseconds(20));
    ASSERT_TRUE(store_->write(put_note("a", "one")));
    // Bounded wait for the timer; the assertion is on the outcome, not on when it came.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (stats_of(*store_).signed_head_seq != 1 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(stats_of(*store_).signed_head_seq, 1);
}

TEST_F(StoreTest, CloseSignsTheHead) {
    reopen("dev-1", never);
    ASSERT_TRUE(store_->write(put_note("a", "one")));
    ASSERT_TRUE(store_->write(put_note("b", "two")));
    store_.reset();
    auto db = Database::open(dir_ / "fieldlog.db", Database::Mode::read_only);
    ASSERT_TRUE(db);
    auto stmt = db->prepare("SELECT seq, signed_seq FROM chain_head");
    ASSERT_TRUE(stmt && (*stmt)->step().value());
    EXPECT_EQ((*stmt)->int64(0), 2);
    EXPECT_EQ((*stmt)->int64(1), 2);
    (*stmt)->reset();
}

// What a SIGKILL leaves: the committed entries on disk (database and WAL), the newest ones not
// yet signed. Copying the files while the store is open takes that picture.
TEST_F(StoreTest, StoreOpenedAfterACrashSignsTheUnsignedTail) {
    reopen("dev-1", never);
    ASSERT_TRUE(store_->write(put_note("a", "one")));
    ASSERT_TRUE(verify().ok());
    ASSERT_TRUE(store_->write(put_note("b", "two")));
    ASSERT_TRUE(store_->write(put_note("c", "three")));
    ASSERT_EQ(stats_of(*store_).signed_head_seq, 1);

    testing::TempDir crashed;
    for (const char* name : {"fieldlog.db", "fieldlog.db-wal", "device.key"}) {
        std::filesystem::copy_file(dir_ / name, crashed / name);
    }
    std::filesystem::permissions(crashed / "device.key", std::filesystem::perms::owner_read |
                                                             std::filesystem::perms::owner_write);
    {
        auto db = Database::open(crashed / "fieldlog.db");
        ASSERT_TRUE(db);
        auto stmt = db->prepare("SELECT seq, signed_seq FROM chain_head");
        ASSERT_TRUE(stmt && (*stmt)->step().value());
        EXPECT_EQ((*stmt)->int64(0), 3);  // the tip, as the crash test reads it
        EXPECT_EQ((*stmt)->int64(1), 1);
        (*stmt)->reset();
    }
    StoreOptions options;
    options.data_dir = crashed.path();
    options.device_id = "dev-1";
    options.head_sign_interval = never;
    auto reopened = Store::open(options, {note_kind()});
    ASSERT_TRUE(reopened) << reopened.error().to_string();
    EXPECT_EQ(stats_of(**reopened).signed_head_seq, 3);
    auto seq = (*reopened)->write(put_note("d", "four"));
    ASSERT_TRUE(seq);
    EXPECT_EQ(seq->as_int64(), 4);
    auto report = (*reopened)->verify();
    ASSERT_TRUE(report);
    EXPECT_TRUE(report->ok());
    EXPECT_EQ(report->head_seq, 4);
    EXPECT_EQ(report->unsigned_entries, 0);
}

// A database written before heads were signed lazily (schema 7): chain_head was a table whose
// signed head named the last entry. It must verify after the migration, and tampering with it
// must still show.
class OldFormatStore : public ::testing::Test {
protected:
    void write_schema_7_database(int notes) {
        auto key = DeviceKey::load_or_create(dir_ / "device.key");
        ASSERT_TRUE(key);
        auto db = Database::open(dir_ / "fieldlog.db");
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->exec("PRAGMA journal_mode = WAL"));
        ASSERT_TRUE(migrate(*db, 7));
        ASSERT_TRUE(db->exec(
            "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL, last_seq INTEGER NOT "
            "NULL)"));
        auto device = db->prepare(
            "INSERT INTO device (id, device_id, public_key, created_ms) VALUES (1, 'dev-1', ?1, "
            "1)");
        ASSERT_TRUE(device);
        (*device)->bind_blob(1, key->public_key());
        ASSERT_TRUE((*device)->run());
        Sha256 prev = genesis_hash("dev-1");
        for (int i = 1; i <= notes; ++i) {
            const std::string id = "n" + std::to_string(i);
            const std::string body = "body " + std::to_string(i);
            auto note = db->prepare("INSERT INTO notes (id, body, last_seq) VALUES (?1, ?2, ?3)");
            ASSERT_TRUE(note);
            (*note)->bind(1, id).bind(2, body).bind(3, i);
            ASSERT_TRUE((*note)->run());
            const std::string payload = canonical_json(json::object{{"id", id}, {"body", body}});
            ChainEntry e;
            e.seq = i;
            e.kind = "note";
            e.record_id = id;
            e.action = "put";
            e.payload_hash = sha256(payload);
            e.prev_hash = prev;
            e.device_time_ms = 1'700'000'000'000;
            e.entry_hash = compute_entry_hash(e);
            auto entry = db->prepare(
                "INSERT INTO evidence_chain (seq, kind, record_id, action, payload_hash, "
                "prev_hash, entry_hash, device_time_ms, gnss_time_ms) VALUES (?1, ?2, ?3, ?4, "
                "?5, ?6, ?7, ?8, NULL)");
            ASSERT_TRUE(entry);
            (*entry)
                ->bind(1, e.seq)
                .bind(2, e.kind)
                .bind(3, e.record_id)
                .bind(4, e.action)
                .bind_blob(5, e.payload_hash)
                .bind_blob(6, e.prev_hash)
                .bind_blob(7, e.entry_hash)
                .bind(8, e.device_time_ms);
            ASSERT_TRUE((*entry)->run());
            auto outbox = db->prepare("INSERT INTO outbox (seq, payload) VALUES (?1, ?2)");
            ASSERT_TRUE(outbox);
            (*outbox)->bind(1, e.seq).bind(2, payload);
            ASSERT_TRUE((*outbox)->run());
            prev = e.entry_hash;
        }
        auto head = db->prepare(
            "INSERT INTO chain_head (id, seq, entry_hash, signature) VALUES (1, ?1, ?2, ?3)");
        ASSERT_TRUE(head);
        (*head)
            ->bind(1, std::int64_t{notes})
            .bind_blob(2, prev)
            .bind_blob(3, key->sign(head_message("dev-1", notes, prev)));
        ASSERT_TRUE((*head)->run());
    }

    std::unique_ptr<Store> open_store() {
        StoreOptions options;
        options.data_dir = dir_.path();
        options.device_id = "dev-1";
        auto opened = Store::open(options, {note_kind()});
        EXPECT_TRUE(opened) << opened.error().to_string();
        return opened ? std::move(*opened) : nullptr;
    }

    testing::TempDir dir_;
};

TEST_F(OldFormatStore, VerifiesAfterMigrationAndGoesOnFromItsHead) {
    write_schema_7_database(3);
    auto store = open_store();
    ASSERT_TRUE(store);
    auto report = store->verify();
    ASSERT_TRUE(report);
    EXPECT_TRUE(report->ok()) << report->problems.front().what;
    EXPECT_EQ(report->entries_checked, 3);
    EXPECT_EQ(report->head_seq, 3);
    auto seq = store->write(put_built_note("n4", "body 4"));
    ASSERT_TRUE(seq);
    EXPECT_EQ(seq->as_int64(), 4);
    report = store->verify();
    ASSERT_TRUE(report);
    EXPECT_TRUE(report->ok());
    EXPECT_EQ(report->head_seq, 4);
}

TEST_F(OldFormatStore, AlteredRecordAndRemovedLastEntryStillShow) {
    write_schema_7_database(3);
    {
        auto db = Database::open(dir_ / "fieldlog.db");
        ASSERT_TRUE(db);
        ASSERT_TRUE(db->exec(
            "UPDATE notes SET body = 'forged' WHERE id = 'n1'; DELETE FROM outbox WHERE seq = 3; "
            "DELETE FROM evidence_chain WHERE seq = 3; DELETE FROM notes WHERE id = 'n3'"));
    }
    auto store = open_store();
    ASSERT_TRUE(store);
    auto report = store->verify();
    ASSERT_TRUE(report);
    ASSERT_EQ(report->problems.size(), 2u);
    EXPECT_EQ(report->problems[0].record_id, "n1");
    EXPECT_NE(report->problems[0].what.find("altered"), std::string::npos);
    EXPECT_NE(report->problems[1].what.find("removed from the end"), std::string::npos);
}

}  // namespace
}  // namespace fieldlog::store
