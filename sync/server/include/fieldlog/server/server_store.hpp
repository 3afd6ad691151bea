// The office server's store: devices, their evidence chains and signed heads, the latest state
// of every record, and blob upload state. An interface, so that several server instances can
// later share one PostgreSQL database; SQLite (sqlite_server_store.hpp) is the default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fieldlog/digest.hpp"
#include "fieldlog/error.hpp"
#include "fieldlog/store/device_key.hpp"
#include "fieldlog/store/evidence.hpp"

namespace fieldlog::server {

// What the server checks a device's bearer token against; the token itself is never stored.
struct DeviceCredential {
    std::string device_id;
    Sha256 token_sha256{};
    std::optional<std::int64_t> revoked_ms;
};

struct DeviceInfo {
    std::string device_id;
    std::optional<store::PublicKey> public_key;  // pinned at enrolment or the first batch
    std::int64_t enrolled_ms = 0;
    std::optional<std::int64_t> revoked_ms;
    std::optional<std::int64_t> last_sync_ms;
    std::int64_t acked_seq = 0;  // highest seq held, contiguous from 1
    std::int64_t head_seq = 0;   // seq of the newest signed head held
    std::int64_t pending_entries = 0;
    std::int64_t pending_bytes = 0;
    std::int64_t withheld_entries = 0;  // entries held without their payload
    // The reference-data version the device last said it holds (the since= of its reference
    // request; 0: none applied yet) and when it first said so; nothing before its first ask.
    std::optional<std::int64_t> reference_version;
    std::optional<std::int64_t> reference_reported_ms;
};

// Why a device sends an entry without its payload: the reason this server (or another) gave
// when it refused the entry, which the device parked (sync/client/README.md).
struct WithheldReason {
    std::string code;
    std::string message;
};

// One chain entry of a batch, with the columns the read API queries by, already extracted from
// its payload so that every backend indexes records the same way. A withheld entry carries its
// chain fields only: payload is empty, and it has no record columns.
struct IncomingEntry {
    store::ChainEntry entry;
    std::string payload;
    std::optional<WithheldReason> withheld;
    std::optional<std::string> site_id;
    // For records that belong to an inspection: the backend takes the site from that inspection
    // record of the same device (stored earlier or earlier in the same batch).
    std::optional<std::string> inspection_id;
    std::optional<std::int64_t> time_ms;     // the record's own time, for from/to queries
    std::optional<std::string> blob_sha256;  // a photo's blob, which must be complete
};

struct SignedHead {
    std::int64_t seq = 0;
    Sha256 entry_hash{};
    store::Signature signature{};
};

// A batch whose own consistency (hashes, links between its entries, head signature under
// public_key) has been checked; what remains needs the stored state.
struct Batch {
    std::string device_id;
    store::PublicKey public_key{};
    std::int64_t pending_entries = 0;
    std::int64_t pending_bytes = 0;
    std::vector<IncomingEntry> entries;  // ascending, contiguous, at least one
    SignedHead head;
    std::int64_t received_ms = 0;
};

enum class IngestStatus {
    accepted,         // stored (or already held): acked_seq covers the batch
    unauthorized,     // unknown or revoked device
    key_mismatch,     // another public key is pinned for this device
    sequence_gap,     // the first new entry is not acked_seq + 1
    replay_mismatch,  // an entry the server holds differs from the one sent again
    broken_chain,     // the first new entry does not link to the last entry held
    blob_missing,     // a photo's blob is not complete on the server
};

struct IngestResult {
    IngestStatus status = IngestStatus::accepted;
    std::int64_t acked_seq = 0;
    std::string message;                     // names the entry, for every status but accepted
    std::vector<std::string> missing_blobs;  // for blob_missing
};

struct RecordQuery {
    std::optional<std::string> device_id;
    std::optional<std::string> kind;
    std::optional<std::string> site_id;
    std::optional<std::int64_t> from_ms;  // inclusive, on the record's own time
    std::optional<std::int64_t> to_ms;    // exclusive
    std::optional<std::int64_t> after_seq;
    std::int64_t limit = 0;  // 0: no limit
    bool newest_first = false;
};

// The latest state of one record (its last "put" entry); deleted records are not returned.
struct StoredRecord {
    std::string device_id;
    std::int64_t seq = 0;
    std::string kind;
    std::string record_id;
    std::optional<std::string> site_id;
    std::optional<std::int64_t> time_ms;
    std::int64_t device_time_ms = 0;
    std::optional<std::int64_t> gnss_time_ms;
    std::int64_t received_ms = 0;
    std::string payload;
};

struct StoredEntry {
    store::ChainEntry entry;
    std::optional<std::string> payload;      // none while the entry is withheld
    std::optional<WithheldReason> withheld;  // kept after a later re-send fills the payload in
    std::int64_t received_ms = 0;
};

// An entry the server holds without its payload.
struct WithheldEntry {
    std::int64_t seq = 0;
    std::string kind;
    std::string record_id;
    std::string action;
    std::int64_t device_time_ms = 0;
    WithheldReason reason;
    std::int64_t received_ms = 0;
};

struct StoredHead {
    SignedHead head;
    std::int64_t received_ms = 0;
};

// Upload state of one content-addressed blob. path is relative to the blob directory.
struct BlobState {
    std::string sha256;
    std::int64_t size = 0;  // the upload's declared total length
    std::int64_t offset = 0;
    bool complete = false;
    std::string path;
    std::int64_t updated_ms = 0;
};

// One published version of the office's reference data (docs/sync-protocol.md).
struct ReferenceVersion {
    std::int64_t version = 0;  // 1, 2, ... in publishing order
    std::int64_t published_ms = 0;
    std::string content;  // config::reference_set_json of the set, complaint devices included
    std::string sha256;   // hex SHA-256 of content
};

struct PublishResult {
    ReferenceVersion published;  // content left empty
    bool unchanged = false;      // the content was the newest version's already
};

// Every method is safe to call from several threads at once. A method that fails changes
// nothing; a write returns only once it is durable.
class ServerStore {
public:
    virtual ~ServerStore() = default;

    // Errc::conflict when the device is already enrolled (revoked or not).
    [[nodiscard]] virtual Status enrol_device(const std::string& device_id,
                                              const Sha256& token_sha256,
                                              const std::optional<store::PublicKey>& public_key,
                                              std::int64_t now_ms) = 0;
    // Returns when the device was revoked (the first time, if it already was);
    // Errc::not_found for a device never enrolled.
    [[nodiscard]] virtual Result<std::int64_t> revoke_device(const std::string& device_id,
                                                             std::int64_t now_ms) = 0;
    [[nodiscard]] virtual Result<std::optional<DeviceCredential>> device_credential(
        const std::string& device_id) = 0;
    [[nodiscard]] virtual Result<std::optional<DeviceInfo>> device(
        const std::string& device_id) = 0;
    [[nodiscard]] virtual Result<std::vector<DeviceInfo>> devices() = 0;

    // Stores the batch's new entries, their records and the head in one durable transaction,
    // or nothing at all: every status but accepted leaves the store as it was. A withheld entry
    // is stored without payload and leaves the records as they were; an entry held withheld
    // that comes again with its payload (its entry hash matching) gets the payload filled in.
    [[nodiscard]] virtual Result<IngestResult> ingest(const Batch& batch) = 0;

    [[nodiscard]] virtual Result<std::vector<StoredRecord>> records(const RecordQuery& query) = 0;
    // Entries with seq > after_seq in ascending order, at most limit of them.
    [[nodiscard]] virtual Result<std::vector<StoredEntry>> entries(const std::string& device_id,
                                                                   std::int64_t after_seq,
                                                                   std::int64_t limit) = 0;
    [[nodiscard]] virtual Result<std::vector<StoredHead>> heads(const std::string& device_id) = 0;
    // Entries still held without payload, seq > after_seq ascending, at most limit of them.
    [[nodiscard]] virtual Result<std::vector<WithheldEntry>> withheld(const std::string& device_id,
                                                                      std::int64_t after_seq,
                                                                      std::int64_t limit) = 0;

    // Stores content as the next version, one above the newest; content equal to the newest
    // version's is not stored again, and that version is returned as unchanged.
    [[nodiscard]] virtual Result<PublishResult> publish_reference(const std::string& content,
                                                                  std::int64_t now_ms) = 0;
    // The newest version, or nothing before the first publication.
    [[nodiscard]] virtual Result<std::optional<ReferenceVersion>> latest_reference() = 0;
    // Records that the device holds reference version `version`; a version already recorded
    // keeps its first report time.
    [[nodiscard]] virtual Status note_reference_version(const std::string& device_id,
                                                        std::int64_t version,
                                                        std::int64_t now_ms) = 0;

    [[nodiscard]] virtual Result<std::optional<BlobState>> blob(const std::string& sha256) = 0;
    [[nodiscard]] virtual Status put_blob(const BlobState& state) = 0;
    // Uploads not complete whose state was last written before updated_before_ms.
    [[nodiscard]] virtual Result<std::vector<BlobState>> stale_partial_blobs(
        std::int64_t updated_before_ms) = 0;
    [[nodiscard]] virtual Status delete_blob(const std::string& sha256) = 0;
};

}  // namespace fieldlog::server
