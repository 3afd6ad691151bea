#include "fieldlog/store/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "fieldlog/canonical_json.hpp"
#include "fieldlog/clock.hpp"
#include "fieldlog/files.hpp"
#include "fieldlog/store/schema.hpp"

namespace fieldlog::store {

namespace {

struct Task {
    Store::WriteJob write;  // exactly one of write and read is set
    Store::ReadJob read;
    Store::Done done;
    bool needs_signed_head = false;
};

struct Head {
    std::int64_t seq = 0;
    Sha256 hash{};
};

Result<std::optional<Head>> read_head(Database& db, std::string_view sql) {
    auto stmt = db.prepare(sql);
    if (!stmt) {
        return stmt.error();
    }
    auto row = (*stmt)->step();
    if (!row) {
        return row.error();
    }
    std::optional<Head> head;
    if (*row) {
        head.emplace();
        head->seq = (*stmt)->int64(0);
        auto bytes = (*stmt)->blob(1);
        if (bytes.size() != head->hash.size()) {
            (*stmt)->reset();
            return Error(Errc::corrupt, "chain head hash has the wrong size");
        }
        std::copy(bytes.begin(), bytes.end(), head->hash.begin());
    }
    (*stmt)->reset();
    return head;
}

// The store has one writer. A second process on the same data dir would append chain entries
// behind this one's in-memory head, and every later write here would fail on a duplicate
// sequence number, so it is refused. The kernel drops the lock when the process dies, SIGKILL
// included.
Result<UniqueFd> lock_data_dir(const std::filesystem::path& data_dir) {
    const auto path = data_dir / "fieldlog.lock";
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) {
        return errno_error(errno, "cannot open lock file", path);
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            return Error(Errc::conflict, "another process is already using the data directory " +
                                             data_dir.string());
        }
        return errno_error(errno, "cannot lock", path);
    }
    return fd;
}

}  // namespace

struct Store::Impl final : WriteContext {
    using Clock = std::chrono::steady_clock;

    StoreOptions options;
    std::vector<RecordKind> kinds;
    UniqueFd data_dir_lock;  // declared first: released only after the database is closed
    Database database;
    DeviceKey key;
    BlobStore blob_store;
    Sha256 genesis{};
    Head head;         // the newest committed entry, or the one a write job just appended
    Head signed_head;  // the newest head whose signature is committed
    std::int64_t batch_time_ms = 0;
    // When the committed head must be signed by at the latest; unset while it is signed.
    std::optional<Clock::time_point> sign_due;
    // The statements every record and commit runs, looked up once rather than by their text.
    Statement* insert_entry = nullptr;
    Statement* insert_outbox = nullptr;
    Statement* save_signature = nullptr;
    Statement* savepoint = nullptr;
    Statement* release = nullptr;
    Statement* rollback_to = nullptr;

    std::mutex mutex;
    std::condition_variable wake;
    std::deque<Task> queue;
    bool closing = false;
    std::thread thread;

    Impl(StoreOptions opts, std::vector<RecordKind> k, UniqueFd lock, Database db,
         DeviceKey device_key)
        : options(std::move(opts)),
          kinds(std::move(k)),
          data_dir_lock(std::move(lock)),
          database(std::move(db)),
          key(std::move(device_key)),
          blob_store(options.data_dir / "blobs"),
          genesis(genesis_hash(options.device_id)) {}

    Status prepare_statements() {
        const std::pair<Statement**, std::string_view> statements[] = {
            {&insert_entry,
             "INSERT INTO evidence_chain (seq, kind, record_id, action, payload_hash, prev_hash, "
             "entry_hash, device_time_ms, gnss_time_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
             "?9)"},
            {&insert_outbox, "INSERT INTO outbox (seq, payload) VALUES (?1, ?2)"},
            {&save_signature,
             "INSERT INTO signed_head (id, seq, entry_hash, signature) VALUES (1, ?1, ?2, ?3) "
             "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, entry_hash = "
             "excluded.entry_hash, signature = excluded.signature"},
            {&savepoint, "SAVEPOINT job"},
            {&release, "RELEASE job"},
            {&rollback_to, "ROLLBACK TO job"},
        };
        for (const auto& [slot, sql] : statements) {
            auto stmt = database.prepare(sql);
            if (!stmt) {
                return stmt.error();
            }
            *slot = *stmt;
        }
        return {};
    }

    Database& db() override { return database; }
    BlobStore& blobs() override { return blob_store; }
    std::int64_t now_ms() const override { return batch_time_ms; }
    std::int64_t next_seq() const override { return head.seq + 1; }

    Result<std::int64_t> append(const RecordKind& kind, std::string_view record_id,
                                std::optional<std::int64_t> gnss_time_ms) override {
        auto record = kind.load(database, record_id);
        if (!record) {
            return record.error();
        }
        if (!*record) {
            return Error(Errc::internal, kind.name + " " + std::string(record_id) +
                                             " vanished before its chain entry was written");
        }
        return append_payload(kind, record_id, canonical_json(**record), gnss_time_ms);
    }

    Result<std::int64_t> append(const RecordKind& kind, std::string_view record_id,
                                const boost::json::object& record,
                                std::optional<std::int64_t> gnss_time_ms) override {
        std::string payload = canonical_json(record);
#ifndef NDEBUG
        // The record is hashed as the job built it and verified later as it loads: a field
        // built differently from how it reads back would show as tampering.
        auto loaded = kind.load(database, record_id);
        if (!loaded || !*loaded || canonical_json(**loaded) != payload) {
            return Error(Errc::internal,
                         kind.name + " " + std::string(record_id) +
                             " was built differently from how it loads: " + payload);
        }
#endif
        return append_payload(kind, record_id, payload, gnss_time_ms);
    }

    Result<std::int64_t> append_payload(const RecordKind& kind, std::string_view record_id,
                                        std::string_view record_payload,
                                        std::optional<std::int64_t> gnss_time_ms) {
        ChainEntry entry;
        entry.seq = head.seq + 1;
        entry.kind = kind.name;
        entry.record_id = std::string(record_id);
        entry.action = "put";
        entry.payload_hash = sha256(record_payload);
        entry.prev_hash = head.hash;
        entry.device_time_ms = batch_time_ms;
        entry.gnss_time_ms = gnss_time_ms;
        entry.entry_hash = compute_entry_hash(entry);

        insert_entry->reset()
            .bind(1, entry.seq)
            .bind(2, entry.kind)
            .bind(3, entry.record_id)
            .bind(4, entry.action)
            .bind_blob(5, entry.payload_hash)
            .bind_blob(6, entry.prev_hash)
            .bind_blob(7, entry.entry_hash)
            .bind(8, entry.device_time_ms)
            .bind(9, entry.gnss_time_ms);
        if (auto done = insert_entry->run(); !done) {
            return done.error();
        }
        insert_outbox->reset().bind(1, entry.seq).bind(2, record_payload);
        if (auto done = insert_outbox->run(); !done) {
            return done.error();
        }
        head = {entry.seq, entry.entry_hash};
        return entry.seq;
    }

    // Inside the caller's transaction; signed_head moves only once it commits.
    Status write_signature() {
        Signature signature = key.sign(head_message(options.device_id, head.seq, head.hash));
        save_signature->reset().bind(1, head.seq).bind_blob(2, head.hash).bind_blob(3, signature);
        return save_signature->run();
    }

    bool head_unsigned() const { return head.seq != signed_head.seq; }

    bool signature_due() const { return sign_due && Clock::now() >= *sign_due; }

    void after_commit(bool signed_in_commit) {
        if (signed_in_commit) {
            signed_head = head;
            sign_due.reset();
        } else if (head_unsigned() && !sign_due) {
            sign_due = Clock::now() + options.head_sign_interval;
        }
    }

    // Signs the committed head in a transaction of its own, when no write commit carries it.
    Status sign_committed_head(bool even_if_signed = false) {
        if (!head_unsigned() && !even_if_signed) {
            sign_due.reset();
            return {};
        }
        auto tx = Transaction::begin(database);
        Status status = tx ? write_signature() : Status(tx.error());
        if (status) {
            status = tx->commit();
        }
        if (status) {
            after_commit(true);
        } else {
            // Tried again later, not in a loop: a full disk must not keep the thread busy.
            sign_due = Clock::now() + options.head_sign_interval;
        }
        return status;
    }

    // Notified after unlocking, so the woken thread does not block again on the mutex. No
    // wake-up is lost: the thread tests queue and closing under the mutex before it waits.
    void submit(Task task) {
        bool queued = false;
        {
            std::lock_guard lock(mutex);
            if (!closing) {
                queue.push_back(std::move(task));
                queued = true;
            }
        }
        if (queued) {
            wake.notify_one();
            return;
        }
        task.done(Error(Errc::unavailable, "the store is closing"));
    }

    void run() {
        for (;;) {
            std::vector<Task> batch;
            {
                std::unique_lock lock(mutex);
                auto ready = [&] { return closing || !queue.empty(); };
                if (sign_due) {
                    wake.wait_until(lock, *sign_due, ready);
                } else {
                    wake.wait(lock, ready);
                }
                if (queue.empty() && closing) {
                    lock.unlock();
                    // A clean stop leaves the whole chain signed.
                    (void)sign_committed_head();
                    return;
                }
                while (!queue.empty() && batch.size() < options.max_batch) {
                    batch.push_back(std::move(queue.front()));
                    queue.pop_front();
                }
            }
            if (batch.empty()) {
                (void)sign_committed_head();  // the timer: writes stopped with the head unsigned
                continue;
            }
            run_batch(batch);
        }
    }

    void run_batch(std::vector<Task>& batch) {
        std::vector<std::optional<Result<boost::json::value>>> results(batch.size());
        bool any_write = std::any_of(batch.begin(), batch.end(),
                                     [](const Task& t) { return static_cast<bool>(t.write); });
        bool must_sign = std::any_of(batch.begin(), batch.end(),
                                     [](const Task& t) { return t.needs_signed_head; });
        if (any_write) {
            commit_writes(batch, results, must_sign || signature_due());
        }
        if (must_sign && head_unsigned()) {
            // A signed read still runs when signing failed: verify then names the unsigned tail.
            (void)sign_committed_head();
        }
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (batch[i].read) {
                results[i] = run_guarded([&] { return batch[i].read(database); });
            }
        }
        for (std::size_t i = 0; i < batch.size(); ++i) {
            batch[i].done(std::move(*results[i]));
        }
    }

    template <class F>
    static Result<boost::json::value> run_guarded(F&& f) {
        try {
            return f();
        } catch (const std::exception& e) {
            return Error(Errc::internal, std::string("unexpected failure: ") + e.what());
        }
    }

    void commit_writes(std::vector<Task>& batch,
                       std::vector<std::optional<Result<boost::json::value>>>& results, bool sign) {
        auto fail_all = [&](const Error& error) {
            for (std::size_t i = 0; i < batch.size(); ++i) {
                if (batch[i].write) {
                    results[i] = error;
                }
            }
        };
        // A lone write needs no savepoint: if it fails, the whole transaction rolls back.
        const bool isolate = std::count_if(batch.begin(), batch.end(), [](const Task& t) {
                                 return static_cast<bool>(t.write);
                             }) > 1;
        batch_time_ms = options.wall_clock_ms();
        const Head head_before = head;
        auto tx = Transaction::begin(database);
        if (!tx) {
            fail_all(tx.error());
            return;
        }
        bool any_succeeded = false;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (!batch[i].write) {
                continue;
            }
            const Head job_head = head;
            if (isolate) {
                if (auto sp = savepoint->reset().run(); !sp) {
                    results[i] = sp.error();
                    continue;
                }
            }
            auto result = run_guarded([&] { return batch[i].write(*this); });
            if (!result) {
                // One bad request must not take the writes sharing its commit down with it.
                if (isolate) {
                    (void)rollback_to->reset().run();
                }
                head = job_head;
            } else {
                any_succeeded = true;
            }
            if (isolate) {
                (void)release->reset().run();
            }
            results[i] = std::move(result);
        }
        if (!any_succeeded) {
            return;  // the guard rolls back; nothing was acknowledged
        }
        const bool sign_now = sign && head_unsigned();
        Status committed;
        if (sign_now) {
            committed = write_signature();
        }
        if (committed) {
            committed = tx->commit();
        }
        if (!committed) {
            // Nothing in this batch is durable: every write in it fails, and the chain head
            // goes back to what the database still holds.
            head = head_before;
            for (std::size_t i = 0; i < batch.size(); ++i) {
                if (batch[i].write && results[i] && *results[i]) {
                    results[i] = committed.error();
                }
            }
            return;
        }
        after_commit(sign_now);
    }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
    impl_->thread = std::thread([this] { impl_->run(); });
}

Store::~Store() { close(); }

void Store::close() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->closing = true;
    }
    // After unlocking, as in submit(); the condition variable outlives the join below.
    impl_->wake.notify_one();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
}

Result<std::unique_ptr<Store>> Store::open(StoreOptions options, std::vector<RecordKind> kinds) {
    if (!options.wall_clock_ms) {
        options.wall_clock_ms = [] { return SystemClock().wall_ms(); };
    }
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    if (ec) {
        return errno_error(ec.value(), "cannot create data directory", options.data_dir);
    }
    ::chmod(options.data_dir.c_str(), 0750);
    auto lock = lock_data_dir(options.data_dir);
    if (!lock) {
        return lock.error();
    }
    auto key = DeviceKey::load_or_create(options.data_dir / "device.key");
    if (!key) {
        return key.error();
    }
    auto db = Database::open(options.data_dir / "fieldlog.db");
    if (!db) {
        return db.error();
    }
    std::string pragmas = "PRAGMA journal_mode = WAL; PRAGMA synchronous = ";
    pragmas += options.synchronous_full ? "FULL" : "NORMAL";
    // 1 MiB of page cache instead of SQLite's 2 MiB default: writes touch the tail of a few
    // indexes and reads are by key, so a larger cache buys little on a device with 16 MiB
    // for the whole daemon.
    pragmas += "; PRAGMA cache_size = -1024";
    if (auto set = db->exec(pragmas); !set) {
        return set.error();
    }
    if (auto migrated = migrate(*db); !migrated) {
        return migrated.error();
    }

    auto identity = db->prepare("SELECT device_id, public_key FROM device WHERE id = 1");
    if (!identity) {
        return identity.error();
    }
    auto row = (*identity)->step();
    if (!row) {
        return row.error();
    }
    if (*row) {
        std::string stored_id = (*identity)->text(0);
        auto stored_key = (*identity)->blob(1);
        bool same_key = stored_key.size() == key->public_key().size() &&
                        std::equal(stored_key.begin(), stored_key.end(), key->public_key().begin());
        (*identity)->reset();
        if (stored_id != options.device_id) {
            return Error(Errc::conflict, "database " + db->path().string() +
                                             " belongs to device '" + stored_id + "', not '" +
                                             options.device_id + "'");
        }
        if (!same_key) {
            return Error(Errc::conflict, "device key " +
                                             (options.data_dir / "device.key").string() +
                                             " is not the key this database was created with");
        }
    } else {
        (*identity)->reset();
        auto insert = db->prepare(
            "INSERT INTO device (id, device_id, public_key, created_ms) VALUES (1, ?1, ?2, ?3)");
        if (!insert) {
            return insert.error();
        }
        (*insert)
            ->bind(1, options.device_id)
            .bind_blob(2, key->public_key())
            .bind(3, options.wall_clock_ms());
        if (auto done = (*insert)->run(); !done) {
            return done.error();
        }
    }

    auto impl = std::make_unique<Impl>(std::move(options), std::move(kinds), std::move(*lock),
                                       std::move(*db), std::move(*key));
    if (auto prepared = impl->prepare_statements(); !prepared) {
        return prepared.error();
    }
    auto signed_head = read_head(impl->database, "SELECT seq, entry_hash FROM signed_head");
    if (!signed_head) {
        return signed_head.error();
    }
    auto tip = read_head(impl->database,
                         "SELECT seq, entry_hash FROM evidence_chain ORDER BY seq DESC LIMIT 1");
    if (!tip) {
        return tip.error();
    }
    impl->signed_head = signed_head->value_or(Head{0, impl->genesis});
    // The chain goes on from its newest entry. A signed head beyond it means entries were
    // removed from the end: going on from the signed head keeps that visible to verify as a
    // gap, as it is never signed over.
    impl->head = *tip && (*tip)->seq > impl->signed_head.seq ? **tip : impl->signed_head;
    // A first start, or a crash between a commit and its signature. The latter must not keep
    // the daemon from starting (a full disk): the store thread tries again.
    auto signed_now = impl->sign_committed_head(!*signed_head);
    if (!signed_now && !*signed_head) {
        return signed_now.error();
    }
    return std::unique_ptr<Store>(new Store(std::move(impl)));
}

void Store::submit_write(WriteJob job, Done done) {
    impl_->submit(Task{std::move(job), nullptr, std::move(done)});
}

void Store::submit_read(ReadJob job, Done done) {
    impl_->submit(Task{nullptr, std::move(job), std::move(done)});
}

void Store::submit_signed_read(ReadJob job, Done done) {
    impl_->submit(Task{nullptr, std::move(job), std::move(done), true});
}

Result<boost::json::value> Store::write(WriteJob job) {
    std::promise<Result<boost::json::value>> promise;
    auto future = promise.get_future();
    submit_write(std::move(job),
                 [&](Result<boost::json::value> r) { promise.set_value(std::move(r)); });
    return future.get();
}

Result<boost::json::value> Store::read(ReadJob job) {
    std::promise<Result<boost::json::value>> promise;
    auto future = promise.get_future();
    submit_read(std::move(job),
                [&](Result<boost::json::value> r) { promise.set_value(std::move(r)); });
    return future.get();
}

Result<VerifyReport> Store::verify() {
    std::optional<Result<VerifyReport>> report;
    std::promise<Result<boost::json::value>> promise;
    auto future = promise.get_future();
    submit_signed_read(
        [&](Database& db) -> Result<boost::json::value> {
            report = verify_evidence(db, impl_->options.device_id, impl_->key.public_key(),
                                     impl_->kinds);
            return boost::json::value();
        },
        [&](Result<boost::json::value> r) { promise.set_value(std::move(r)); });
    auto done = future.get();
    if (!done) {
        return done.error();
    }
    return std::move(*report);
}

Result<OutboxStats> Store::outbox_stats() {
    OutboxStats stats;
    auto done = read([&](Database& db) -> Result<boost::json::value> {
        auto stmt = db.prepare(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0), COALESCE(MIN(seq), 0) FROM "
            "outbox");
        if (!stmt) {
            return stmt.error();
        }
        auto row = (*stmt)->step();
        if (!row) {
            return row.error();
        }
        stats.pending_entries = (*stmt)->int64(0);
        stats.pending_bytes = (*stmt)->int64(1);
        stats.oldest_pending_seq = (*stmt)->int64(2);
        (*stmt)->reset();
        stats.head_seq = impl_->head.seq;
        stats.signed_head_seq = impl_->signed_head.seq;
        return boost::json::value();
    });
    if (!done) {
        return done.error();
    }
    return stats;
}

Signature Store::sign_head(std::int64_t seq, const Sha256& entry_hash) const {
    return impl_->key.sign(head_message(impl_->options.device_id, seq, entry_hash));
}

const std::string& Store::device_id() const { return impl_->options.device_id; }
const PublicKey& Store::public_key() const { return impl_->key.public_key(); }
const std::filesystem::path& Store::database_path() const { return impl_->database.path(); }
const std::vector<RecordKind>& Store::kinds() const { return impl_->kinds; }

}  // namespace fieldlog::store
