// The evidence chain: every record write is an entry that commits to the previous entry's
// hash, and the device signs the head, so alteration or removal can be shown later.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fieldlog/digest.hpp"
#include "fieldlog/store/database.hpp"
#include "fieldlog/store/device_key.hpp"

namespace fieldlog::store {

struct ChainEntry {
    std::int64_t seq = 0;
    std::string kind;
    std::string record_id;
    std::string action;  // "put" or "delete"
    Sha256 payload_hash{};
    Sha256 prev_hash{};
    Sha256 entry_hash{};
    std::int64_t device_time_ms = 0;
    std::optional<std::int64_t> gnss_time_ms;
};

// What the first entry's prev_hash is: binds a chain to the device it started on.
Sha256 genesis_hash(std::string_view device_id);
// The hash over an entry's fields (all but entry_hash itself), in canonical JSON.
Sha256 compute_entry_hash(const ChainEntry& entry);
// The canonical JSON that compute_entry_hash hashes, for other implementations to compare with.
std::string entry_hash_fields_json(const ChainEntry& entry);
// The bytes the device signs for a head; the server verifies the same bytes.
std::string head_message(std::string_view device_id, std::int64_t seq, const Sha256& entry_hash);

// A chain entry still waiting for the server's acknowledgement, with the payload it hashes.
struct OutboxEntry {
    ChainEntry entry;
    std::string payload;
};

// The oldest entries after after_seq, at most max_entries and (beyond the first) max_bytes of
// payload, in sequence order.
[[nodiscard]] Result<std::vector<OutboxEntry>> read_outbox(Database& db, std::int64_t after_seq,
                                                           std::size_t max_entries,
                                                           std::size_t max_bytes);

// Forgets outbox entries up to and including seq; their chain entries stay for verify.
[[nodiscard]] Result<std::int64_t> acknowledge_outbox(Database& db, std::int64_t up_to_seq);

// One kind of record the chain covers, and how to read a record back in the exact form that
// was hashed when it was written.
struct RecordKind {
    std::string name;
    // Lists (id, last_seq) of every stored record of this kind. A constant, not user data.
    std::string list_sql;
    std::function<Result<std::optional<boost::json::object>>(Database&, std::string_view id)> load;
    // Retention deletes the oldest records of this kind (the device log); only records
    // newer than the oldest one kept must be present.
    bool pruned_by_retention = false;
};

struct VerifyProblem {
    std::int64_t seq = 0;  // 0 when the problem is not one entry's
    std::string kind;
    std::string record_id;
    std::string what;
};

struct VerifyReport {
    std::int64_t entries_checked = 0;
    std::int64_t records_checked = 0;
    std::int64_t head_seq = 0;  // the newest signed head
    // Entries after the signed head: hash-chained to it but not yet signed (store.hpp).
    std::int64_t unsigned_entries = 0;
    std::vector<VerifyProblem> problems;
    bool ok() const { return problems.empty(); }
};

// Recomputes the whole chain and every record's hash against it and checks the signed head
// with the device's public key: it must name an entry of the chain with that entry's hash.
// Entries after it are checked by their links only.
[[nodiscard]] Result<VerifyReport> verify_evidence(Database& db, std::string_view device_id,
                                                   const PublicKey& device_key,
                                                   const std::vector<RecordKind>& kinds);

}  // namespace fieldlog::store
