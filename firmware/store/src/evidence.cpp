#include "fieldlog/store/evidence.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <map>
#include <unordered_set>

#include "fieldlog/canonical_json.hpp"

namespace fieldlog::store {

Sha256 genesis_hash(std::string_view device_id) {
    return sha256("fieldlog-chain-v1:" + std::string(device_id));
}

namespace {

// A JSON string as boost::json::serialize writes it. Most ids and kinds need no escaping and
// are copied as they are; anything else goes through the serializer, so the bytes never differ.
void append_json_string(std::string& out, std::string_view text) {
    const bool plain = std::none_of(text.begin(), text.end(), [](char c) {
        return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
    });
    if (plain) {
        out += '"';
        out += text;
        out += '"';
    } else {
        out += boost::json::serialize(boost::json::string_view(text.data(), text.size()));
    }
}

void append_int(std::string& out, std::int64_t value) {
    char buffer[24];
    auto [end, ec] = std::to_chars(std::begin(buffer), std::end(buffer), value);
    out.append(buffer, end);
}

void append_hex(std::string& out, const Sha256& hash) {
    static constexpr char digits[] = "0123456789abcdef";
    const std::size_t at = out.size();
    out.resize(at + 2 * hash.size());
    char* p = out.data() + at;
    for (std::uint8_t b : hash) {
        *p++ = digits[b >> 4];
        *p++ = digits[b & 0x0f];
    }
}

// The entry's fields in canonical JSON (keys in sorted order, no white space): the bytes its
// entry hash is computed over. Written out directly since it runs for every record saved;
// tests check it against canonical_json() of the same fields as an object.
void write_entry_hash_input(const ChainEntry& entry, std::string& out) {
    out.clear();
    out.reserve(320 + entry.kind.size() + entry.record_id.size());
    out += "{\"action\":";
    append_json_string(out, entry.action);
    out += ",\"device_time_ms\":";
    append_int(out, entry.device_time_ms);
    out += ",\"gnss_time_ms\":";
    if (entry.gnss_time_ms) {
        append_int(out, *entry.gnss_time_ms);
    } else {
        out += "null";
    }
    out += ",\"kind\":";
    append_json_string(out, entry.kind);
    out += ",\"payload_hash\":\"";
    append_hex(out, entry.payload_hash);
    out += "\",\"prev_hash\":\"";
    append_hex(out, entry.prev_hash);
    out += "\",\"record_id\":";
    append_json_string(out, entry.record_id);
    out += ",\"seq\":";
    append_int(out, entry.seq);
    out += ",\"v\":1}";
}

}  // namespace

std::string entry_hash_fields_json(const ChainEntry& entry) {
    std::string out;
    write_entry_hash_input(entry, out);
    return out;
}

Sha256 compute_entry_hash(const ChainEntry& entry) {
    thread_local std::string input;
    write_entry_hash_input(entry, input);
    return sha256(input);
}

std::string head_message(std::string_view device_id, std::int64_t seq, const Sha256& entry_hash) {
    boost::json::object fields{
        {"device_id", device_id}, {"seq", seq}, {"entry_hash", to_hex(entry_hash)}, {"v", 1}};
    return "fieldlog-head:" + canonical_json(fields);
}

namespace {

bool copy_hash(std::span<const std::uint8_t> bytes, Sha256& out) {
    if (bytes.size() != out.size()) {
        return false;
    }
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return true;
}

struct LatestEntry {
    std::int64_t seq;
    std::string action;
    Sha256 payload_hash;
};

}  // namespace

Result<std::vector<OutboxEntry>> read_outbox(Database& db, std::int64_t after_seq,
                                             std::size_t max_entries, std::size_t max_bytes) {
    auto stmt = db.prepare(
        "SELECT c.seq, c.kind, c.record_id, c.action, c.payload_hash, c.prev_hash, c.entry_hash, "
        "c.device_time_ms, c.gnss_time_ms, o.payload FROM outbox o JOIN evidence_chain c ON "
        "c.seq = o.seq WHERE o.seq > ?1 ORDER BY o.seq LIMIT ?2");
    if (!stmt) {
        return stmt.error();
    }
    (*stmt)->bind(1, after_seq).bind(2, static_cast<std::int64_t>(max_entries));
    std::vector<OutboxEntry> out;
    std::size_t bytes = 0;
    for (;;) {
        auto row = (*stmt)->step();
        if (!row) {
            return row.error();
        }
        if (!*row) {
            break;
        }
        Statement& s = **stmt;
        OutboxEntry e;
        e.entry.seq = s.int64(0);
        e.entry.kind = s.text(1);
        e.entry.record_id = s.text(2);
        e.entry.action = s.text(3);
        if (!copy_hash(s.blob(4), e.entry.payload_hash) ||
            !copy_hash(s.blob(5), e.entry.prev_hash) || !copy_hash(s.blob(6), e.entry.entry_hash)) {
            (*stmt)->reset();
            return Error(Errc::corrupt,
                         "evidence entry " + std::to_string(e.entry.seq) + " has a malformed hash");
        }
        e.entry.device_time_ms = s.int64(7);
        e.entry.gnss_time_ms = s.opt_int64(8);
        e.payload = s.text(9);
        if (!out.empty() && bytes + e.payload.size() > max_bytes) {
            break;
        }
        bytes += e.payload.size();
        out.push_back(std::move(e));
    }
    (*stmt)->reset();
    return out;
}

Result<std::int64_t> acknowledge_outbox(Database& db, std::int64_t up_to_seq) {
    auto stmt = db.prepare("DELETE FROM outbox WHERE seq <= ?1");
    if (!stmt) {
        return stmt.error();
    }
    (*stmt)->bind(1, up_to_seq);
    if (auto done = (*stmt)->run(); !done) {
        return done.error();
    }
    return db.changes();
}

Result<VerifyReport> verify_evidence(Database& db, std::string_view device_id,
                                     const PublicKey& device_key,
                                     const std::vector<RecordKind>& kinds) {
    VerifyReport report;
    auto problem = [&](std::int64_t seq, std::string kind, std::string id, std::string what) {
        report.problems.push_back({seq, std::move(kind), std::move(id), std::move(what)});
    };

    // 1. The newest signed head, read first so that the chain pass can pick up the hash of the
    // entry it names.
    struct SignedHead {
        std::int64_t seq = 0;
        Sha256 hash{};
        bool verifies = false;
    };
    std::optional<SignedHead> signed_head;
    auto head = db.prepare("SELECT seq, entry_hash, signature FROM signed_head WHERE id = 1");
    if (!head) {
        return head.error();
    }
    auto head_row = (*head)->step();
    if (!head_row) {
        return head_row.error();
    }
    if (*head_row) {
        Statement& s = **head;
        SignedHead h;
        h.seq = s.int64(0);
        Signature signature{};
        auto sig_bytes = s.blob(2);
        bool shaped = copy_hash(s.blob(1), h.hash) && sig_bytes.size() == signature.size();
        if (shaped) {
            std::copy(sig_bytes.begin(), sig_bytes.end(), signature.begin());
        }
        h.verifies = shaped && verify_signature(device_key, head_message(device_id, h.seq, h.hash),
                                                signature);
        signed_head = h;
    }
    (*head)->reset();

    // 2. The chain itself: contiguous sequence, links and entry hashes.
    auto chain = db.prepare(
        "SELECT seq, kind, record_id, action, payload_hash, prev_hash, entry_hash, "
        "device_time_ms, gnss_time_ms FROM evidence_chain ORDER BY seq");
    if (!chain) {
        return chain.error();
    }
    std::map<std::pair<std::string, std::string>, LatestEntry> latest;
    const Sha256 genesis = genesis_hash(device_id);
    Sha256 prev = genesis;
    std::optional<Sha256> hash_at_signed_seq;
    if (signed_head && signed_head->seq == 0) {
        hash_at_signed_seq = genesis;
    }
    std::int64_t expected_seq = 1;
    for (;;) {
        auto row = (*chain)->step();
        if (!row) {
            return row.error();
        }
        if (!*row) {
            break;
        }
        Statement& s = **chain;
        ChainEntry e;
        e.seq = s.int64(0);
        e.kind = s.text(1);
        e.record_id = s.text(2);
        e.action = s.text(3);
        bool hashes_ok = copy_hash(s.blob(4), e.payload_hash) &&
                         copy_hash(s.blob(5), e.prev_hash) && copy_hash(s.blob(6), e.entry_hash);
        e.device_time_ms = s.int64(7);
        e.gnss_time_ms = s.opt_int64(8);
        ++report.entries_checked;
        if (e.seq != expected_seq) {
            problem(expected_seq, "", "",
                    e.seq - expected_seq == 1
                        ? "entry " + std::to_string(expected_seq) + " is missing"
                        : "entries " + std::to_string(expected_seq) + " to " +
                              std::to_string(e.seq - 1) + " are missing");
        } else if (hashes_ok && e.prev_hash != prev) {
            problem(e.seq, e.kind, e.record_id,
                    "entry " + std::to_string(e.seq) +
                        " does not link to the entry before it (prev_hash differs)");
        }
        if (!hashes_ok) {
            problem(e.seq, e.kind, e.record_id,
                    "entry " + std::to_string(e.seq) + " has a malformed hash field");
        } else if (compute_entry_hash(e) != e.entry_hash) {
            problem(e.seq, e.kind, e.record_id,
                    "entry " + std::to_string(e.seq) + " (" + e.kind + " " + e.record_id +
                        ") was altered: its contents do not match its entry hash");
        }
        if (signed_head && e.seq == signed_head->seq) {
            hash_at_signed_seq = e.entry_hash;
        }
        prev = e.entry_hash;
        expected_seq = e.seq + 1;
        latest[{e.kind, e.record_id}] = {e.seq, e.action, e.payload_hash};
    }
    (*chain)->reset();
    std::int64_t last_seq = expected_seq - 1;

    // The signed head must carry the device's signature and name an entry of the chain with
    // that entry's hash. Entries after it are lazily signed (store.hpp) and rest on their links.
    if (!signed_head) {
        problem(0, "", "", "the signed chain head is missing");
    } else {
        report.head_seq = signed_head->seq;
        if (!signed_head->verifies) {
            problem(report.head_seq, "", "",
                    "the chain head signature does not verify with this device's key");
        } else if (report.head_seq > last_seq) {
            problem(report.head_seq, "", "",
                    "the signed head is entry " + std::to_string(report.head_seq) +
                        " but the chain ends at entry " + std::to_string(last_seq) +
                        ": entries were removed from the end");
        } else if (hash_at_signed_seq && *hash_at_signed_seq != signed_head->hash) {
            problem(report.head_seq, "", "",
                    "the signed head hash does not match entry " + std::to_string(report.head_seq));
        } else {
            report.unsigned_entries = last_seq - report.head_seq;
        }
    }

    // 3. Every stored record must hash to the payload of the entry that last wrote it.
    for (const RecordKind& kind : kinds) {
        auto list = db.prepare(kind.list_sql);
        if (!list) {
            return list.error();
        }
        std::vector<std::pair<std::string, std::int64_t>> rows;
        for (;;) {
            auto row = (*list)->step();
            if (!row) {
                return row.error();
            }
            if (!*row) {
                break;
            }
            rows.emplace_back((*list)->text(0), (*list)->int64(1));
        }
        (*list)->reset();
        std::unordered_set<std::string> present;
        std::int64_t oldest_kept_seq = 0;
        for (const auto& [id, seq] : rows) {
            present.insert(id);
            oldest_kept_seq = oldest_kept_seq == 0 ? seq : std::min(oldest_kept_seq, seq);
            ++report.records_checked;
            auto it = latest.find({kind.name, id});
            if (it == latest.end()) {
                problem(seq, kind.name, id,
                        kind.name + " " + id + " has no entry in the evidence chain");
                continue;
            }
            if (it->second.seq != seq) {
                problem(seq, kind.name, id,
                        kind.name + " " + id + " names entry " + std::to_string(seq) +
                            " but its last entry is " + std::to_string(it->second.seq));
                continue;
            }
            auto record = kind.load(db, id);
            if (!record) {
                return record.error();
            }
            if (!*record || sha256(canonical_json(**record)) != it->second.payload_hash) {
                problem(seq, kind.name, id,
                        kind.name + " " + id + " (entry " + std::to_string(seq) +
                            ") was altered: the stored record does not match its evidence hash");
            }
        }
        for (const auto& [key, entry] : latest) {
            if (key.first != kind.name || entry.action != "put") {
                continue;
            }
            if (present.contains(key.second)) {
                continue;
            }
            if (kind.pruned_by_retention && (oldest_kept_seq == 0 || entry.seq < oldest_kept_seq)) {
                continue;
            }
            problem(entry.seq, kind.name, key.second,
                    kind.name + " " + key.second + " (entry " + std::to_string(entry.seq) +
                        ") was removed from the store");
        }
    }
    std::sort(report.problems.begin(), report.problems.end(),
              [](const VerifyProblem& a, const VerifyProblem& b) { return a.seq < b.seq; });
    return report;
}

}  // namespace fieldlog::store
