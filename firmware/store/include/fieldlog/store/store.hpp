// The device store: one SQLite connection owned by one writer thread that commits whatever
// writes are waiting as one durable transaction (group commit) and acknowledges each write
// only after that commit.
//
// The chain head is signed lazily, never per commit (design invariant 5, docs/benchmarks.md):
// an Ed25519 signature costs about a third of a whole commit on fast storage. Every entry is
// still hash-chained to the one before it when it commits; the device signs the newest entry
// when someone needs a signed head: before a signed read (verify, export), at most
// head_sign_interval after a commit left the head unsigned (folded into a later commit while
// writes keep coming), on close, and on open when a crash left the newest entries unsigned.
// The server only ever receives signed heads: the uploader signs the last entry of every
// batch it sends (sign_head). Local verification checks the newest signed head and the hash
// chain of the unsigned entries after it.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fieldlog/error.hpp"
#include "fieldlog/store/blob_store.hpp"
#include "fieldlog/store/database.hpp"
#include "fieldlog/store/device_key.hpp"
#include "fieldlog/store/evidence.hpp"

namespace fieldlog::store {

struct StoreOptions {
    std::filesystem::path data_dir;  // holds fieldlog.db, device.key and blobs/
    std::string device_id;
    bool synchronous_full = true;  // fsync on every commit; "normal" trades that for speed
    std::size_t max_batch = 512;   // writes one commit may hold
    // How long a committed entry may wait for the head signature while the store runs.
    std::chrono::milliseconds head_sign_interval{1000};
    // The clock every record's device time comes from.
    std::function<std::int64_t()> wall_clock_ms;
};

// What a write job sees: the connection inside the shared transaction and the chain.
class WriteContext {
public:
    virtual ~WriteContext() = default;
    virtual Database& db() = 0;
    virtual BlobStore& blobs() = 0;
    // Device time for records written by this job.
    virtual std::int64_t now_ms() const = 0;
    // The sequence number the next append() will take.
    virtual std::int64_t next_seq() const = 0;
    // Reads the record back through its kind's loader, hashes it and appends its chain and
    // outbox entries. The record's last_seq must already be next_seq().
    [[nodiscard]] virtual Result<std::int64_t> append(const RecordKind& kind,
                                                      std::string_view record_id,
                                                      std::optional<std::int64_t> gnss_time_ms) = 0;
    // The same for a record the job built itself: it must be exactly what the kind's loader
    // will return (verify hashes the loaded form), which builds with assertions check.
    [[nodiscard]] virtual Result<std::int64_t> append(const RecordKind& kind,
                                                      std::string_view record_id,
                                                      const boost::json::object& record,
                                                      std::optional<std::int64_t> gnss_time_ms) = 0;
};

struct OutboxStats {
    std::int64_t pending_entries = 0;
    std::int64_t pending_bytes = 0;
    std::int64_t oldest_pending_seq = 0;
    std::int64_t head_seq = 0;
    std::int64_t signed_head_seq = 0;  // may trail head_seq: see the note at the top
};

class Store {
public:
    using WriteJob = std::function<Result<boost::json::value>(WriteContext&)>;
    using ReadJob = std::function<Result<boost::json::value>(Database&)>;
    // Called on the store thread once the job's outcome is final (durable, or failed).
    using Done = std::function<void(Result<boost::json::value>)>;

    // Opens (creating on first start) the database and key, migrates the schema and checks
    // that both belong to this device.
    [[nodiscard]] static Result<std::unique_ptr<Store>> open(StoreOptions options,
                                                             std::vector<RecordKind> kinds);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    void submit_write(WriteJob job, Done done);
    void submit_read(ReadJob job, Done done);
    // A read that runs once the newest committed entry is signed, for whatever shows or checks
    // the signed head.
    void submit_signed_read(ReadJob job, Done done);

    // Blocking forms for tools and tests; never call them from the store thread.
    [[nodiscard]] Result<boost::json::value> write(WriteJob job);
    [[nodiscard]] Result<boost::json::value> read(ReadJob job);

    // Signs the head first, so the whole chain is covered by a signature.
    [[nodiscard]] Result<VerifyReport> verify();
    [[nodiscard]] Result<OutboxStats> outbox_stats();

    // Signs a chain head with the device key, for a batch that ends at seq.
    Signature sign_head(std::int64_t seq, const Sha256& entry_hash) const;

    const std::string& device_id() const;
    const PublicKey& public_key() const;
    const std::filesystem::path& database_path() const;
    const std::vector<RecordKind>& kinds() const;

    // Finishes every queued job, then stops the thread. Later submissions fail with
    // Errc::unavailable.
    void close();

private:
    struct Impl;
    explicit Store(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace fieldlog::store
