#include "fieldlog/server/sqlite_server_store.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "fieldlog/store/database.hpp"

namespace fieldlog::server {

namespace {

using store::Database;
using store::Statement;
using store::Transaction;

struct Migration {
    int version;
    const char* sql;
    // Rebuilds a table that others refer to: foreign keys are not enforced while it runs (the
    // pragma cannot change inside a transaction) and are checked in full before it commits.
    bool rebuilds_tables = false;
};

// Released migrations are never edited: an office may hold a database made by any of them.
constexpr std::array migrations{
    Migration{1, R"sql(
CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    token_sha256 BLOB NOT NULL,
    public_key BLOB,
    enrolled_ms INTEGER NOT NULL,
    revoked_ms INTEGER,
    acked_seq INTEGER NOT NULL DEFAULT 0,
    pending_entries INTEGER NOT NULL DEFAULT 0,
    pending_bytes INTEGER NOT NULL DEFAULT 0,
    last_sync_ms INTEGER
);
CREATE TABLE entries (
    device_id TEXT NOT NULL REFERENCES devices (device_id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('put', 'delete')),
    payload_hash BLOB NOT NULL,
    prev_hash BLOB NOT NULL,
    entry_hash BLOB NOT NULL,
    device_time_ms INTEGER NOT NULL,
    gnss_time_ms INTEGER,
    received_ms INTEGER NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
CREATE TABLE records (
    device_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    action TEXT NOT NULL,
    site_id TEXT,
    time_ms INTEGER,
    PRIMARY KEY (device_id, kind, record_id),
    FOREIGN KEY (device_id, seq) REFERENCES entries (device_id, seq)
) WITHOUT ROWID;
CREATE INDEX records_by_kind_time ON records (kind, time_ms);
CREATE INDEX records_by_site_time ON records (site_id, time_ms);
CREATE INDEX records_by_device_seq ON records (device_id, seq);
CREATE TABLE heads (
    device_id TEXT NOT NULL REFERENCES devices (device_id),
    seq INTEGER NOT NULL,
    entry_hash BLOB NOT NULL,
    signature BLOB NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    upload_offset INTEGER NOT NULL,
    complete INTEGER NOT NULL CHECK (complete IN (0, 1)),
    path TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
)sql"},
    // Withheld entries (docs/sync-protocol.md): a chain entry held without its payload, with
    // the reason the device gives. SQLite cannot drop NOT NULL from a column, so the table is
    // rebuilt; received_ms stays the entry's, filled_ms is when a later re-send brought the
    // payload. The partial index serves the withheld list and the per-device count.
    Migration{2, R"sql(
CREATE TABLE entries_v2 (
    device_id TEXT NOT NULL REFERENCES devices (device_id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('put', 'delete')),
    payload_hash BLOB NOT NULL,
    prev_hash BLOB NOT NULL,
    entry_hash BLOB NOT NULL,
    device_time_ms INTEGER NOT NULL,
    gnss_time_ms INTEGER,
    received_ms INTEGER NOT NULL,
    payload TEXT,
    withheld_code TEXT,
    withheld_message TEXT,
    filled_ms INTEGER,
    CHECK (payload IS NOT NULL OR withheld_code IS NOT NULL),
    CHECK ((withheld_code IS NULL) = (withheld_message IS NULL)),
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
INSERT INTO entries_v2 (device_id, seq, kind, record_id, action, payload_hash, prev_hash,
    entry_hash, device_time_ms, gnss_time_ms, received_ms, payload)
SELECT device_id, seq, kind, record_id, action, payload_hash, prev_hash, entry_hash,
    device_time_ms, gnss_time_ms, received_ms, payload FROM entries;
DROP TABLE entries;
ALTER TABLE entries_v2 RENAME TO entries;
CREATE INDEX entries_withheld ON entries (device_id, seq) WHERE payload IS NULL;
)sql",
              true},
    // Reference data the office publishes for devices: every version is kept, the newest is
    // served.
    Migration{3, R"sql(
CREATE TABLE reference_versions (
    version INTEGER PRIMARY KEY CHECK (version > 0),
    published_ms INTEGER NOT NULL,
    content TEXT NOT NULL,
    sha256 TEXT NOT NULL
);
)sql"},
    // The reference-data version each device reports holding, from its reference requests.
    Migration{4, R"sql(
ALTER TABLE devices ADD COLUMN reference_version INTEGER;
ALTER TABLE devices ADD COLUMN reference_reported_ms INTEGER;
)sql"},
};

template <std::size_t N>
bool copy_bytes(std::span<const std::uint8_t> bytes, std::array<std::uint8_t, N>& out) {
    if (bytes.size() != N) {
        return false;
    }
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return true;
}

Result<std::int64_t> single_int(Database& db, std::string_view sql) {
    auto stmt = db.prepare(sql);
    if (!stmt) {
        return stmt.error();
    }
    auto row = (*stmt)->step();
    if (!row) {
        return row.error();
    }
    std::int64_t value = *row ? (*stmt)->int64(0) : 0;
    (*stmt)->reset();
    return value;
}

Status apply_migration(Database& db, const Migration& m) {
    auto txn = Transaction::begin(db);
    if (!txn) {
        return txn.error();
    }
    if (auto done = db.exec(m.sql); !done) {
        return Error(done.error()).context("migration " + std::to_string(m.version));
    }
    if (m.rebuilds_tables) {
        auto violations = single_int(db, "SELECT COUNT(*) FROM pragma_foreign_key_check");
        if (!violations) {
            return violations.error();
        }
        if (*violations != 0) {
            return Error(Errc::corrupt, "migration " + std::to_string(m.version) + " leaves " +
                                            std::to_string(*violations) +
                                            " rows that refer to nothing; nothing was changed");
        }
    }
    if (auto done = db.exec("PRAGMA user_version = " + std::to_string(m.version)); !done) {
        return done.error();
    }
    return txn->commit();
}

Status migrate(Database& db) {
    auto current = single_int(db, "PRAGMA user_version");
    if (!current) {
        return current.error();
    }
    if (*current > migrations.back().version) {
        return Error(Errc::unavailable, "server database " + db.path().string() +
                                            " has schema version " + std::to_string(*current) +
                                            ", newer than this fieldlog-server knows (" +
                                            std::to_string(migrations.back().version) + ")");
    }
    for (const Migration& m : migrations) {
        if (m.version <= *current) {
            continue;
        }
        if (m.rebuilds_tables) {
            if (auto off = db.exec("PRAGMA foreign_keys = OFF"); !off) {
                return off.error();
            }
        }
        Status applied = apply_migration(db, m);
        if (m.rebuilds_tables) {
            if (auto on = db.exec("PRAGMA foreign_keys = ON"); !on && applied) {
                return on.error();
            }
        }
        if (!applied) {
            return applied;
        }
    }
    return {};
}

Result<Database> open_connection(const std::filesystem::path& path) {
    auto db = Database::open(path);
    if (!db) {
        return db.error();
    }
    // FULL makes every commit durable before the reply that acknowledges it is sent.
    if (auto done = db->exec("PRAGMA synchronous = FULL"); !done) {
        return done.error();
    }
    return db;
}

// Runs write jobs on one thread, the sole owner of the write connection. Whatever jobs are
// waiting share one transaction and one fsync; each runs inside its own savepoint, so a job
// that fails leaves no trace while the others still commit.
class Writer {
public:
    using Work = std::function<Status(Database&)>;

    explicit Writer(Database db) : db_(std::move(db)), thread_([this] { loop(); }) {}
    ~Writer() {
        {
            std::lock_guard lock(mutex_);
            closing_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    // Returns once the job's writes are committed durably (or have failed).
    Status run(Work work) {
        auto job = std::make_shared<Job>();
        job->work = std::move(work);
        auto done = job->done.get_future();
        {
            std::lock_guard lock(mutex_);
            if (closing_) {
                return Error(Errc::unavailable, "the server store is closing");
            }
            queue_.push_back(std::move(job));
        }
        wake_.notify_one();
        return done.get();
    }

private:
    struct Job {
        Work work;
        std::promise<Status> done;
    };
    // Bounds how long the first job of a group waits for the last one to be worked on.
    static constexpr std::size_t max_group = 64;

    void loop() {
        for (;;) {
            std::vector<std::shared_ptr<Job>> group;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
                if (queue_.empty()) {
                    return;
                }
                while (!queue_.empty() && group.size() < max_group) {
                    group.push_back(std::move(queue_.front()));
                    queue_.pop_front();
                }
            }
            run_group(group);
        }
    }

    void run_group(const std::vector<std::shared_ptr<Job>>& group) {
        auto txn = Transaction::begin(db_);
        if (!txn) {
            for (const auto& job : group) {
                job->done.set_value(txn.error());
            }
            return;
        }
        std::vector<Status> results;
        results.reserve(group.size());
        for (const auto& job : group) {
            results.push_back(run_one(*job));
        }
        Status committed = txn->commit();
        for (std::size_t i = 0; i < group.size(); ++i) {
            group[i]->done.set_value(committed ? std::move(results[i]) : committed);
        }
    }

    Status run_one(Job& job) {
        if (auto begun = db_.exec("SAVEPOINT job"); !begun) {
            return begun.error();
        }
        Status result;
        try {
            result = job.work(db_);
        } catch (const std::exception& e) {
            result = Error(Errc::internal, std::string("store job failed: ") + e.what());
        }
        if (!result) {
            (void)db_.exec("ROLLBACK TO job");
        }
        if (auto released = db_.exec("RELEASE job"); !released && result) {
            return released.error();
        }
        return result;
    }

    Database db_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::shared_ptr<Job>> queue_;
    bool closing_ = false;
    std::thread thread_;  // last: starts once everything it uses exists
};

// Read connections, opened on demand and kept for reuse so their prepared statements are too.
class ReaderPool {
public:
    explicit ReaderPool(std::filesystem::path path) : path_(std::move(path)) {}

    class Lease {
    public:
        Lease(ReaderPool& pool, std::unique_ptr<Database> db) : pool_(&pool), db_(std::move(db)) {}
        Lease(Lease&& other) noexcept = default;
        Lease& operator=(Lease&&) = delete;
        ~Lease() {
            if (db_) {
                pool_->give_back(std::move(db_));
            }
        }
        Database& operator*() { return *db_; }

    private:
        ReaderPool* pool_;
        std::unique_ptr<Database> db_;
    };

    // Runs f on a read connection: f(Database&) returns a Result, and so does this.
    template <class F>
    auto with(F&& f) -> decltype(f(std::declval<Database&>())) {
        auto db = acquire();
        if (!db) {
            return db.error();
        }
        return f(**db);
    }

    Result<Lease> acquire() {
        {
            std::lock_guard lock(mutex_);
            if (!idle_.empty()) {
                auto db = std::move(idle_.back());
                idle_.pop_back();
                return Lease(*this, std::move(db));
            }
        }
        auto db = Database::open(path_);
        if (!db) {
            return db.error();
        }
        if (auto done = db->exec("PRAGMA query_only = ON"); !done) {
            return done.error();
        }
        return Lease(*this, std::make_unique<Database>(std::move(*db)));
    }

private:
    static constexpr std::size_t max_idle = 8;

    void give_back(std::unique_ptr<Database> db) {
        std::lock_guard lock(mutex_);
        if (idle_.size() < max_idle) {
            idle_.push_back(std::move(db));
        }
    }

    std::filesystem::path path_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<Database>> idle_;
};

// Steps a prepared statement through its rows, resetting it however the loop ends.
template <class Row>
Status for_each_row(Statement& stmt, Row&& row) {
    for (;;) {
        auto more = stmt.step();
        if (!more) {
            stmt.reset();
            return more.error();
        }
        if (!*more) {
            break;
        }
        if (auto ok = row(stmt); !ok) {
            stmt.reset();
            return ok;
        }
    }
    stmt.reset();
    return {};
}

// A row reader may return its value or, when it checks what it read, a Result of it.
template <class T>
Result<T> as_result(T value) {
    return value;
}
template <class T>
Result<T> as_result(Result<T> value) {
    return value;
}

// Prepares sql on db, lets bind set its parameters, and hands each row to row.
template <class Bind, class Row>
Status query(Database& db, std::string_view sql, Bind&& bind, Row&& row) {
    auto stmt = db.prepare(sql);
    if (!stmt) {
        return stmt.error();
    }
    bind(**stmt);
    return for_each_row(**stmt, std::forward<Row>(row));
}

// Every row of the query, each made by read.
template <class T, class Bind, class Read>
Result<std::vector<T>> query_all(Database& db, std::string_view sql, Bind&& bind, Read&& read) {
    std::vector<T> out;
    auto done = query(db, sql, std::forward<Bind>(bind), [&](Statement& s) -> Status {
        auto value = as_result<T>(read(s));
        if (!value) {
            return value.error();
        }
        out.push_back(std::move(*value));
        return {};
    });
    if (!done) {
        return done.error();
    }
    return out;
}

// The row of a query that names one (by its key), made by read; nothing when there is none.
template <class T, class Bind, class Read>
Result<std::optional<T>> query_one(Database& db, std::string_view sql, Bind&& bind, Read&& read) {
    auto rows = query_all<T>(db, sql, std::forward<Bind>(bind), std::forward<Read>(read));
    if (!rows) {
        return rows.error();
    }
    if (rows->empty()) {
        return std::optional<T>();
    }
    return std::optional<T>(std::move(rows->back()));
}

auto bind_none() {
    return [](Statement&) {};
}

struct DeviceRow {
    std::optional<store::PublicKey> public_key;
    std::optional<std::int64_t> revoked_ms;
    std::int64_t acked_seq = 0;
};

Result<std::optional<DeviceRow>> read_device_row(Database& db, const std::string& device_id) {
    return query_one<DeviceRow>(
        db, "SELECT public_key, revoked_ms, acked_seq FROM devices WHERE device_id = ?1",
        [&](Statement& s) { s.bind(1, device_id); },
        [&](Statement& s) -> Result<DeviceRow> {
            DeviceRow row;
            if (!s.is_null(0)) {
                store::PublicKey key{};
                if (!copy_bytes(s.blob(0), key)) {
                    return Error(Errc::corrupt,
                                 "device " + device_id + " has a malformed public key");
                }
                row.public_key = key;
            }
            row.revoked_ms = s.opt_int64(1);
            row.acked_seq = s.int64(2);
            return row;
        });
}

struct HeldEntry {
    Sha256 entry_hash{};
    bool withheld = false;  // held without its payload
};

Result<std::optional<HeldEntry>> stored_entry(Database& db, const std::string& device_id,
                                              std::int64_t seq) {
    return query_one<HeldEntry>(
        db, "SELECT entry_hash, payload IS NULL FROM entries WHERE device_id = ?1 AND seq = ?2",
        [&](Statement& s) { s.bind(1, device_id).bind(2, seq); },
        [&](Statement& s) -> Result<HeldEntry> {
            HeldEntry held;
            if (!copy_bytes(s.blob(0), held.entry_hash)) {
                return Error(Errc::corrupt, "entry " + std::to_string(seq) + " of device " +
                                                device_id + " has a malformed hash");
            }
            held.withheld = s.int64(1) == 1;
            return held;
        });
}

std::string seq_text(std::int64_t seq) { return "entry " + std::to_string(seq); }

// Everything ingest decides before writing: a rejection never leaves a partial write. fills
// receives the entries the server holds withheld that this batch brings with their payload.
Result<IngestResult> check_batch(Database& db, const Batch& batch, const DeviceRow& device,
                                 std::vector<const IncomingEntry*>& fills) {
    IngestResult result;
    result.acked_seq = device.acked_seq;
    if (device.public_key && *device.public_key != batch.public_key) {
        result.status = IngestStatus::key_mismatch;
        result.message = "device " + batch.device_id + " is pinned to public key " +
                         to_hex(*device.public_key) + ", the batch is under " +
                         to_hex(batch.public_key);
        return result;
    }
    const std::int64_t last = device.acked_seq;
    const std::int64_t first = batch.entries.front().entry.seq;
    if (first > last + 1) {
        result.status = IngestStatus::sequence_gap;
        result.message = "batch starts at " + seq_text(first) +
                         " but the server holds entries "
                         "up to " +
                         std::to_string(last) + "; the next must be " + std::to_string(last + 1);
        return result;
    }
    for (const IncomingEntry& e : batch.entries) {
        if (e.entry.seq > last) {
            break;
        }
        auto held = stored_entry(db, batch.device_id, e.entry.seq);
        if (!held) {
            return held.error();
        }
        if (!*held) {
            return Error(Errc::corrupt, "device " + batch.device_id + ": " + seq_text(e.entry.seq) +
                                            " is below acked_seq " + std::to_string(last) +
                                            " but not stored");
        }
        if ((*held)->entry_hash != e.entry.entry_hash) {
            result.status = IngestStatus::replay_mismatch;
            result.message = seq_text(e.entry.seq) + " (" + e.entry.kind + " " + e.entry.record_id +
                             ") differs from the entry the server already holds under that seq";
            return result;
        }
        // The same entry with the payload it was withheld without: its payload_hash, checked
        // at parse, is the one the chain holds, so the payload is the one the device signed.
        if ((*held)->withheld && !e.withheld) {
            fills.push_back(&e);
        }
    }
    auto first_new = std::find_if(batch.entries.begin(), batch.entries.end(),
                                  [&](const IncomingEntry& e) { return e.entry.seq > last; });
    if (first_new != batch.entries.end()) {
        Sha256 expected_prev = store::genesis_hash(batch.device_id);
        if (last > 0) {
            auto held = stored_entry(db, batch.device_id, last);
            if (!held) {
                return held.error();
            }
            if (!*held) {
                return Error(Errc::corrupt, "device " + batch.device_id + ": acked " +
                                                seq_text(last) + " is not stored");
            }
            expected_prev = (*held)->entry_hash;
        }
        if (first_new->entry.prev_hash != expected_prev) {
            result.status = IngestStatus::broken_chain;
            result.message = seq_text(first_new->entry.seq) + " (" + first_new->entry.kind + " " +
                             first_new->entry.record_id + ") does not link to " +
                             (last > 0 ? "entry " + std::to_string(last) + " held by the server"
                                       : std::string("the start of this device's chain")) +
                             " (prev_hash differs)";
            return result;
        }
    }
    // Photos of the new entries and of the payloads filled in; a withheld photo entry names
    // no blob (it has no payload), so it needs none.
    std::vector<const IncomingEntry*> with_records(fills);
    for (auto it = first_new; it != batch.entries.end(); ++it) {
        if (!it->withheld) {
            with_records.push_back(&*it);
        }
    }
    auto blob_stmt = db.prepare("SELECT complete FROM blobs WHERE sha256 = ?1");
    if (!blob_stmt) {
        return blob_stmt.error();
    }
    for (const IncomingEntry* in : with_records) {
        if (!in->blob_sha256 || in->entry.action != "put") {
            continue;
        }
        const std::string& sha = *in->blob_sha256;
        if (std::find(result.missing_blobs.begin(), result.missing_blobs.end(), sha) !=
            result.missing_blobs.end()) {
            continue;
        }
        (*blob_stmt)->reset().bind(1, sha);
        bool complete = false;
        auto done = for_each_row(**blob_stmt, [&](Statement& s) -> Status {
            complete = s.int64(0) == 1;
            return {};
        });
        if (!done) {
            return done.error();
        }
        if (!complete) {
            result.missing_blobs.push_back(sha);
        }
    }
    if (!result.missing_blobs.empty()) {
        result.status = IngestStatus::blob_missing;
        result.message = std::to_string(result.missing_blobs.size()) +
                         " photo blob(s) of this batch are not complete on the server; upload "
                         "them first";
    }
    return result;
}

Result<std::optional<std::string>> inspection_site(Database& db, const std::string& device_id,
                                                   const std::string& inspection_id) {
    // A NULL site reads as nothing, the same as no inspection record.
    auto site = query_one<std::optional<std::string>>(
        db,
        "SELECT site_id FROM records WHERE device_id = ?1 AND kind = 'inspection' AND "
        "record_id = ?2",
        [&](Statement& s) { s.bind(1, device_id).bind(2, inspection_id); },
        [](Statement& s) { return s.opt_text(0); });
    if (!site) {
        return site.error();
    }
    return site->value_or(std::nullopt);
}

// The latest state of the entry's record, unless the records table already names a later entry
// of it (a payload filled in after later versions of the record arrived).
Status write_record(Database& db, const Batch& batch, const IncomingEntry& e) {
    std::optional<std::string> site = e.site_id;
    if (!site && e.inspection_id) {
        auto found = inspection_site(db, batch.device_id, *e.inspection_id);
        if (!found) {
            return found.error();
        }
        site = *found;
    }
    auto record = db.prepare(
        "INSERT INTO records (device_id, kind, record_id, seq, action, site_id, time_ms) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (device_id, kind, record_id) DO UPDATE SET "
        "seq = excluded.seq, action = excluded.action, site_id = excluded.site_id, "
        "time_ms = excluded.time_ms WHERE excluded.seq > records.seq");
    if (!record) {
        return record.error();
    }
    (*record)
        ->bind(1, batch.device_id)
        .bind(2, e.entry.kind)
        .bind(3, e.entry.record_id)
        .bind(4, e.entry.seq)
        .bind(5, e.entry.action)
        .bind(6, site)
        .bind(7, e.time_ms);
    return (*record)->run();
}

Status write_entry(Database& db, const Batch& batch, const IncomingEntry& e) {
    auto insert = db.prepare(
        "INSERT INTO entries (device_id, seq, kind, record_id, action, payload_hash, prev_hash, "
        "entry_hash, device_time_ms, gnss_time_ms, received_ms, payload, withheld_code, "
        "withheld_message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
    if (!insert) {
        return insert.error();
    }
    (*insert)
        ->bind(1, batch.device_id)
        .bind(2, e.entry.seq)
        .bind(3, e.entry.kind)
        .bind(4, e.entry.record_id)
        .bind(5, e.entry.action)
        .bind_blob(6, e.entry.payload_hash)
        .bind_blob(7, e.entry.prev_hash)
        .bind_blob(8, e.entry.entry_hash)
        .bind(9, e.entry.device_time_ms)
        .bind(10, e.entry.gnss_time_ms)
        .bind(11, batch.received_ms);
    if (e.withheld) {
        (*insert)->bind_null(12).bind(13, e.withheld->code).bind(14, e.withheld->message);
    } else {
        (*insert)->bind(12, e.payload).bind_null(13).bind_null(14);
    }
    if (auto done = (*insert)->run(); !done) {
        return done;
    }
    // A withheld entry holds its place in the chain; the record it would change stays as it was.
    return e.withheld ? Status() : write_record(db, batch, e);
}

Status fill_payload(Database& db, const Batch& batch, const IncomingEntry& e) {
    auto update = db.prepare(
        "UPDATE entries SET payload = ?3, filled_ms = ?4 WHERE device_id = ?1 AND seq = ?2 AND "
        "payload IS NULL");
    if (!update) {
        return update.error();
    }
    (*update)
        ->bind(1, batch.device_id)
        .bind(2, e.entry.seq)
        .bind(3, e.payload)
        .bind(4, batch.received_ms);
    if (auto done = (*update)->run(); !done) {
        return done;
    }
    return write_record(db, batch, e);
}

Status write_batch(Database& db, const Batch& batch, std::int64_t last,
                   const std::vector<const IncomingEntry*>& fills) {
    for (const IncomingEntry* e : fills) {
        if (auto done = fill_payload(db, batch, *e); !done) {
            return done;
        }
    }
    for (const IncomingEntry& e : batch.entries) {
        if (e.entry.seq <= last) {
            continue;
        }
        if (auto done = write_entry(db, batch, e); !done) {
            return done;
        }
    }
    // A replayed head is already held; its signature is deterministic, so nothing is lost.
    auto head = db.prepare(
        "INSERT INTO heads (device_id, seq, entry_hash, signature, received_ms) VALUES (?1, ?2, "
        "?3, ?4, ?5) ON CONFLICT (device_id, seq) DO NOTHING");
    if (!head) {
        return head.error();
    }
    (*head)
        ->bind(1, batch.device_id)
        .bind(2, batch.head.seq)
        .bind_blob(3, batch.head.entry_hash)
        .bind_blob(4, batch.head.signature)
        .bind(5, batch.received_ms);
    if (auto done = (*head)->run(); !done) {
        return done;
    }
    auto device = db.prepare(
        "UPDATE devices SET public_key = ?2, acked_seq = MAX(acked_seq, ?3), pending_entries = "
        "?4, pending_bytes = ?5, last_sync_ms = ?6 WHERE device_id = ?1");
    if (!device) {
        return device.error();
    }
    (*device)
        ->bind(1, batch.device_id)
        .bind_blob(2, batch.public_key)
        .bind(3, batch.entries.back().entry.seq)
        .bind(4, batch.pending_entries)
        .bind(5, batch.pending_bytes)
        .bind(6, batch.received_ms);
    return (*device)->run();
}

DeviceInfo read_device_info(Statement& s) {
    DeviceInfo info;
    info.device_id = s.text(0);
    if (!s.is_null(1)) {
        store::PublicKey key{};
        if (copy_bytes(s.blob(1), key)) {
            info.public_key = key;
        }
    }
    info.enrolled_ms = s.int64(2);
    info.revoked_ms = s.opt_int64(3);
    info.last_sync_ms = s.opt_int64(4);
    info.acked_seq = s.int64(5);
    info.head_seq = s.opt_int64(6).value_or(0);
    info.pending_entries = s.int64(7);
    info.pending_bytes = s.int64(8);
    info.withheld_entries = s.int64(9);
    info.reference_version = s.opt_int64(10);
    info.reference_reported_ms = s.opt_int64(11);
    return info;
}

constexpr std::string_view blob_columns =
    "SELECT sha256, size, upload_offset, complete, path, updated_ms FROM blobs ";

BlobState read_blob_state(Statement& s) {
    BlobState b;
    b.sha256 = s.text(0);
    b.size = s.int64(1);
    b.offset = s.int64(2);
    b.complete = s.int64(3) == 1;
    b.path = s.text(4);
    b.updated_ms = s.int64(5);
    return b;
}

// Without content: the publisher compares hashes and need not read the newest version whole.
constexpr std::string_view newest_reference_sql =
    "SELECT version, published_ms, sha256 FROM reference_versions ORDER BY version DESC LIMIT 1";
constexpr std::string_view newest_reference_with_content_sql =
    "SELECT version, published_ms, sha256, content FROM reference_versions ORDER BY version "
    "DESC LIMIT 1";

ReferenceVersion read_reference_version(Statement& s) {
    return ReferenceVersion{s.int64(0), s.int64(1), {}, s.text(2)};
}

ReferenceVersion read_reference_with_content(Statement& s) {
    ReferenceVersion v = read_reference_version(s);
    v.content = s.text(3);
    return v;
}

constexpr std::string_view device_info_columns =
    "SELECT d.device_id, d.public_key, d.enrolled_ms, d.revoked_ms, d.last_sync_ms, d.acked_seq, "
    "(SELECT MAX(h.seq) FROM heads h WHERE h.device_id = d.device_id), d.pending_entries, "
    "d.pending_bytes, (SELECT COUNT(*) FROM entries w WHERE w.device_id = d.device_id AND "
    "w.payload IS NULL), d.reference_version, d.reference_reported_ms FROM devices d ";

class SqliteServerStore final : public ServerStore {
public:
    SqliteServerStore(std::filesystem::path path, Database writer)
        : readers_(std::move(path)), writer_(std::move(writer)) {}

    Status enrol_device(const std::string& device_id, const Sha256& token_sha256,
                        const std::optional<store::PublicKey>& public_key,
                        std::int64_t now_ms) override {
        return writer_.run([&](Database& db) -> Status {
            auto existing = read_device_row(db, device_id);
            if (!existing) {
                return existing.error();
            }
            if (*existing) {
                return Error(Errc::conflict, "device " + device_id + " is already enrolled" +
                                                 ((*existing)->revoked_ms ? " (and revoked)" : ""));
            }
            auto stmt = db.prepare(
                "INSERT INTO devices (device_id, token_sha256, public_key, enrolled_ms) VALUES "
                "(?1, ?2, ?3, ?4)");
            if (!stmt) {
                return stmt.error();
            }
            (*stmt)->bind(1, device_id).bind_blob(2, token_sha256).bind(4, now_ms);
            if (public_key) {
                (*stmt)->bind_blob(3, *public_key);
            } else {
                (*stmt)->bind_null(3);
            }
            return (*stmt)->run();
        });
    }

    Result<std::int64_t> revoke_device(const std::string& device_id, std::int64_t now_ms) override {
        std::int64_t revoked = now_ms;
        auto done = writer_.run([&](Database& db) -> Status {
            auto existing = read_device_row(db, device_id);
            if (!existing) {
                return existing.error();
            }
            if (!*existing) {
                return Error(Errc::not_found, "device " + device_id + " is not enrolled");
            }
            if ((*existing)->revoked_ms) {
                revoked = *(*existing)->revoked_ms;
                return {};
            }
            auto stmt = db.prepare("UPDATE devices SET revoked_ms = ?2 WHERE device_id = ?1");
            if (!stmt) {
                return stmt.error();
            }
            (*stmt)->bind(1, device_id).bind(2, now_ms);
            return (*stmt)->run();
        });
        if (!done) {
            return done.error();
        }
        return revoked;
    }

    Result<std::optional<DeviceCredential>> device_credential(
        const std::string& device_id) override {
        return read_one<DeviceCredential>(
            "SELECT token_sha256, revoked_ms FROM devices WHERE device_id = ?1",
            [&](Statement& s) { s.bind(1, device_id); },
            [&](Statement& s) -> Result<DeviceCredential> {
                DeviceCredential c;
                c.device_id = device_id;
                if (!copy_bytes(s.blob(0), c.token_sha256)) {
                    return Error(Errc::corrupt,
                                 "device " + device_id + " has a malformed token hash");
                }
                c.revoked_ms = s.opt_int64(1);
                return c;
            });
    }

    Result<std::optional<DeviceInfo>> device(const std::string& device_id) override {
        static const std::string sql = std::string(device_info_columns) + "WHERE d.device_id = ?1";
        return read_one<DeviceInfo>(
            sql, [&](Statement& s) { s.bind(1, device_id); }, read_device_info);
    }

    Result<std::vector<DeviceInfo>> devices() override {
        static const std::string sql = std::string(device_info_columns) + "ORDER BY d.device_id";
        return read_all<DeviceInfo>(sql, bind_none(), read_device_info);
    }

    Result<IngestResult> ingest(const Batch& batch) override {
        if (batch.entries.empty()) {
            return Error(Errc::invalid_argument, "a batch holds at least one entry");
        }
        IngestResult result;
        auto done = writer_.run([&](Database& db) -> Status {
            auto device = read_device_row(db, batch.device_id);
            if (!device) {
                return device.error();
            }
            // Checked again here, inside the transaction, so a revocation that commits first
            // is never overtaken by a batch authenticated a moment before it.
            if (!*device || (*device)->revoked_ms) {
                result.status = IngestStatus::unauthorized;
                result.message = "device " + batch.device_id + " is unknown or revoked";
                return {};
            }
            std::vector<const IncomingEntry*> fills;
            auto checked = check_batch(db, batch, **device, fills);
            if (!checked) {
                return checked.error();
            }
            result = std::move(*checked);
            if (result.status != IngestStatus::accepted) {
                return {};
            }
            if (auto written = write_batch(db, batch, (*device)->acked_seq, fills); !written) {
                return written;
            }
            result.acked_seq = std::max((*device)->acked_seq, batch.entries.back().entry.seq);
            return {};
        });
        if (!done) {
            return done.error();
        }
        return result;
    }

    Result<std::vector<StoredRecord>> records(const RecordQuery& q) override {
        // One statement per order; absent filters are bound as NULL rather than assembled in.
        static constexpr std::string_view select =
            "SELECT r.device_id, r.seq, r.kind, r.record_id, r.site_id, r.time_ms, "
            "e.device_time_ms, e.gnss_time_ms, e.received_ms, e.payload FROM records r JOIN "
            "entries e ON e.device_id = r.device_id AND e.seq = r.seq WHERE r.action = 'put' AND "
            "(?1 IS NULL OR r.device_id = ?1) AND (?2 IS NULL OR r.kind = ?2) AND (?3 IS NULL OR "
            "r.site_id = ?3) AND (?4 IS NULL OR r.time_ms >= ?4) AND (?5 IS NULL OR r.time_ms < "
            "?5) AND (?6 IS NULL OR r.seq > ?6) ";
        static const std::string ascending =
            std::string(select) + "ORDER BY r.device_id, r.seq LIMIT ?7";
        static const std::string descending =
            std::string(select) + "ORDER BY r.seq DESC, r.device_id LIMIT ?7";
        auto bind = [&](Statement& s) {
            s.bind(1, q.device_id)
                .bind(2, q.kind)
                .bind(3, q.site_id)
                .bind(4, q.from_ms)
                .bind(5, q.to_ms)
                .bind(6, q.after_seq)
                .bind(7, q.limit > 0 ? q.limit : std::int64_t{-1});
        };
        auto read = [](Statement& s) {
            StoredRecord r;
            r.device_id = s.text(0);
            r.seq = s.int64(1);
            r.kind = s.text(2);
            r.record_id = s.text(3);
            r.site_id = s.opt_text(4);
            r.time_ms = s.opt_int64(5);
            r.device_time_ms = s.int64(6);
            r.gnss_time_ms = s.opt_int64(7);
            r.received_ms = s.int64(8);
            r.payload = s.text(9);
            return r;
        };
        return read_all<StoredRecord>(q.newest_first ? descending : ascending, bind, read);
    }

    Result<std::vector<StoredEntry>> entries(const std::string& device_id, std::int64_t after_seq,
                                             std::int64_t limit) override {
        auto read = [](Statement& s) {
            StoredEntry e;
            e.entry.seq = s.int64(0);
            e.entry.kind = s.text(1);
            e.entry.record_id = s.text(2);
            e.entry.action = s.text(3);
            // A malformed stored hash is left zeroed: verify reports it as an altered entry.
            copy_bytes(s.blob(4), e.entry.payload_hash);
            copy_bytes(s.blob(5), e.entry.prev_hash);
            copy_bytes(s.blob(6), e.entry.entry_hash);
            e.entry.device_time_ms = s.int64(7);
            e.entry.gnss_time_ms = s.opt_int64(8);
            e.received_ms = s.int64(9);
            e.payload = s.opt_text(10);
            if (auto code = s.opt_text(11)) {
                e.withheld = WithheldReason{std::move(*code), s.opt_text(12).value_or("")};
            }
            return e;
        };
        return read_all<StoredEntry>(
            "SELECT seq, kind, record_id, action, payload_hash, prev_hash, entry_hash, "
            "device_time_ms, gnss_time_ms, received_ms, payload, withheld_code, "
            "withheld_message FROM entries WHERE device_id = ?1 AND seq > ?2 ORDER BY seq "
            "LIMIT ?3",
            [&](Statement& s) { s.bind(1, device_id).bind(2, after_seq).bind(3, limit); }, read);
    }

    Result<std::vector<StoredHead>> heads(const std::string& device_id) override {
        auto read = [](Statement& s) {
            StoredHead h;
            h.head.seq = s.int64(0);
            copy_bytes(s.blob(1), h.head.entry_hash);
            copy_bytes(s.blob(2), h.head.signature);
            h.received_ms = s.int64(3);
            return h;
        };
        return read_all<StoredHead>(
            "SELECT seq, entry_hash, signature, received_ms FROM heads WHERE device_id = ?1 "
            "ORDER BY seq",
            [&](Statement& s) { s.bind(1, device_id); }, read);
    }

    Result<std::vector<WithheldEntry>> withheld(const std::string& device_id,
                                                std::int64_t after_seq,
                                                std::int64_t limit) override {
        auto read = [](Statement& s) {
            WithheldEntry w;
            w.seq = s.int64(0);
            w.kind = s.text(1);
            w.record_id = s.text(2);
            w.action = s.text(3);
            w.device_time_ms = s.int64(4);
            w.reason.code = s.opt_text(5).value_or("");
            w.reason.message = s.opt_text(6).value_or("");
            w.received_ms = s.int64(7);
            return w;
        };
        return read_all<WithheldEntry>(
            "SELECT seq, kind, record_id, action, device_time_ms, withheld_code, "
            "withheld_message, received_ms FROM entries WHERE device_id = ?1 AND payload IS "
            "NULL AND seq > ?2 ORDER BY seq LIMIT ?3",
            [&](Statement& s) { s.bind(1, device_id).bind(2, after_seq).bind(3, limit); }, read);
    }

    Result<std::optional<BlobState>> blob(const std::string& sha256) override {
        static const std::string sql = std::string(blob_columns) + "WHERE sha256 = ?1";
        return read_one<BlobState>(
            sql, [&](Statement& s) { s.bind(1, sha256); }, read_blob_state);
    }

    Result<std::vector<BlobState>> stale_partial_blobs(std::int64_t updated_before_ms) override {
        static const std::string sql =
            std::string(blob_columns) + "WHERE complete = 0 AND updated_ms < ?1 ORDER BY sha256";
        return read_all<BlobState>(
            sql, [&](Statement& s) { s.bind(1, updated_before_ms); }, read_blob_state);
    }

    Status put_blob(const BlobState& b) override {
        return writer_.run([&](Database& db) -> Status {
            auto stmt = db.prepare(
                "INSERT INTO blobs (sha256, size, upload_offset, complete, path, updated_ms) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (sha256) DO UPDATE SET size = "
                "excluded.size, upload_offset = excluded.upload_offset, complete = "
                "excluded.complete, path = excluded.path, updated_ms = excluded.updated_ms");
            if (!stmt) {
                return stmt.error();
            }
            (*stmt)
                ->bind(1, b.sha256)
                .bind(2, b.size)
                .bind(3, b.offset)
                .bind(4, std::int64_t{b.complete ? 1 : 0})
                .bind(5, b.path)
                .bind(6, b.updated_ms);
            return (*stmt)->run();
        });
    }

    Result<PublishResult> publish_reference(const std::string& content,
                                            std::int64_t now_ms) override {
        PublishResult result;
        const std::string hash = to_hex(sha256(content));
        auto done = writer_.run([&](Database& db) -> Status {
            auto newest = query_one<ReferenceVersion>(db, newest_reference_sql, bind_none(),
                                                      read_reference_version);
            if (!newest) {
                return newest.error();
            }
            const std::optional<ReferenceVersion>& held = *newest;
            if (held && held->sha256 == hash) {
                result.published = *held;
                result.unchanged = true;
                return {};
            }
            result.published = ReferenceVersion{held ? held->version + 1 : 1, now_ms, {}, hash};
            result.unchanged = false;
            auto insert = db.prepare(
                "INSERT INTO reference_versions (version, published_ms, content, sha256) VALUES "
                "(?1, ?2, ?3, ?4)");
            if (!insert) {
                return insert.error();
            }
            (*insert)
                ->bind(1, result.published.version)
                .bind(2, now_ms)
                .bind(3, content)
                .bind(4, hash);
            return (*insert)->run();
        });
        if (!done) {
            return done.error();
        }
        return result;
    }

    Result<std::optional<ReferenceVersion>> latest_reference() override {
        return read_one<ReferenceVersion>(newest_reference_with_content_sql, bind_none(),
                                          read_reference_with_content);
    }

    Status note_reference_version(const std::string& device_id, std::int64_t version,
                                  std::int64_t now_ms) override {
        return writer_.run([&](Database& db) -> Status {
            auto stmt = db.prepare(
                "UPDATE devices SET reference_version = ?2, reference_reported_ms = ?3 WHERE "
                "device_id = ?1 AND reference_version IS NOT ?2");
            if (!stmt) {
                return stmt.error();
            }
            (*stmt)->bind(1, device_id).bind(2, version).bind(3, now_ms);
            return (*stmt)->run();
        });
    }

    Status delete_blob(const std::string& sha256) override {
        return writer_.run([&](Database& db) -> Status {
            auto stmt = db.prepare("DELETE FROM blobs WHERE sha256 = ?1 AND complete = 0");
            if (!stmt) {
                return stmt.error();
            }
            (*stmt)->bind(1, sha256);
            return (*stmt)->run();
        });
    }

private:
    // A query on a read connection, as query_all and query_one.
    template <class T, class Bind, class Read>
    Result<std::vector<T>> read_all(std::string_view sql, Bind&& bind, Read&& read) {
        return readers_.with([&](Database& db) { return query_all<T>(db, sql, bind, read); });
    }
    template <class T, class Bind, class Read>
    Result<std::optional<T>> read_one(std::string_view sql, Bind&& bind, Read&& read) {
        return readers_.with([&](Database& db) { return query_one<T>(db, sql, bind, read); });
    }

    ReaderPool readers_;
    Writer writer_;
};

}  // namespace

int sqlite_server_schema_version() { return migrations.back().version; }

Result<std::unique_ptr<ServerStore>> open_sqlite_server_store(const std::filesystem::path& path) {
    auto db = open_connection(path);
    if (!db) {
        return db.error();
    }
    auto mode = db->prepare("PRAGMA journal_mode = WAL");
    if (!mode) {
        return mode.error();
    }
    auto row = (*mode)->step();
    if (!row) {
        return row.error();
    }
    std::string journal = *row ? (*mode)->text(0) : std::string();
    (*mode)->reset();
    if (journal != "wal") {
        return Error(Errc::database,
                     "cannot put " + path.string() + " in WAL mode (journal mode " + journal + ")");
    }
    if (auto migrated = migrate(*db); !migrated) {
        return migrated.error();
    }
    return std::unique_ptr<ServerStore>(std::make_unique<SqliteServerStore>(path, std::move(*db)));
}

}  // namespace fieldlog::server
