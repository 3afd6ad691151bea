#include "batch.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "fieldlog/store/evidence.hpp"

namespace fieldlog::server {

namespace json = boost::json;

namespace {

std::string_view json_kind(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            return "null";
        case json::kind::bool_:
            return "a boolean";
        case json::kind::int64:
        case json::kind::uint64:
            return "an integer";
        case json::kind::double_:
            return "a number with a fraction";
        case json::kind::string:
            return "a string";
        case json::kind::array:
            return "an array";
        case json::kind::object:
            return "an object";
    }
    return "a value";
}

bool valid_kind(std::string_view kind) {
    if (kind.empty() || kind.size() > 64) return false;
    for (char c : kind) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
}

bool valid_record_id(std::string_view id) {
    if (id.empty() || id.size() > 256) return false;
    for (char c : id) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    }
    return true;
}

// Reads the members of one JSON object; the first problem found becomes the refusal.
class ObjectReader {
public:
    ObjectReader(const json::object& object, std::string path, std::optional<Refusal>& refusal)
        : object_(&object), path_(std::move(path)), refusal_(&refusal) {}

    std::string where(std::string_view key) const {
        return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
    }

    // Keeps the first problem: one found in a nested object counts like one of this object's.
    void fail_with(Refusal refusal) {
        if (!*refusal_) *refusal_ = std::move(refusal);
    }

    void fail(std::string_view key, std::string_view reason, int status = 400,
              std::string_view code = "bad_request") {
        if (!*refusal_) {
            *refusal_ = Refusal{status, std::string(code), where(key) + ": " + std::string(reason)};
        }
    }

    const json::value* find(std::string_view key, bool required) {
        const json::value* v = object_->if_contains(key);
        if (v == nullptr && required) fail(key, "missing required field");
        return v;
    }

    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) {
        const json::value* v = find(key, true);
        if (v == nullptr) return std::nullopt;
        return integer_value(key, *v, min, max);
    }

    // An integer or null; absent counts as null.
    std::optional<std::optional<std::int64_t>> nullable_integer(std::string_view key) {
        const json::value* v = find(key, false);
        if (v == nullptr || v->is_null()) return std::optional<std::int64_t>();
        auto value = integer_value(key, *v, INT64_MIN, INT64_MAX);
        if (!value) return std::nullopt;
        return std::optional<std::int64_t>(*value);
    }

    const json::string* string(std::string_view key) {
        const json::value* v = find(key, true);
        if (v == nullptr) return nullptr;
        if (!v->is_string()) {
            fail(key, "expected a string, got " + std::string(json_kind(*v)));
            return nullptr;
        }
        return &v->get_string();
    }

    template <std::size_t N>
    std::optional<std::array<std::uint8_t, N>> hex(std::string_view key) {
        const json::string* s = string(key);
        if (s == nullptr) return std::nullopt;
        std::array<std::uint8_t, N> out{};
        if (s->size() != 2 * N || !from_hex(std::string_view(*s), out)) {
            fail(key, "expected " + std::to_string(2 * N) + " hex digits");
            return std::nullopt;
        }
        return out;
    }

    const json::object* object(std::string_view key, bool required) {
        const json::value* v = find(key, required);
        if (v == nullptr) return nullptr;
        if (!v->is_object()) {
            fail(key, "expected an object, got " + std::string(json_kind(*v)));
            return nullptr;
        }
        return &v->get_object();
    }

    const json::array* array(std::string_view key) {
        const json::value* v = find(key, true);
        if (v == nullptr) return nullptr;
        if (!v->is_array()) {
            fail(key, "expected an array, got " + std::string(json_kind(*v)));
            return nullptr;
        }
        return &v->get_array();
    }

private:
    std::optional<std::int64_t> integer_value(std::string_view key, const json::value& v,
                                              std::int64_t min, std::int64_t max) {
        std::optional<std::int64_t> value;
        if (v.is_int64()) {
            value = v.get_int64();
        } else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
            value = static_cast<std::int64_t>(v.get_uint64());
        }
        if (!value) {
            fail(key, "expected an integer, got " + std::string(json_kind(v)));
            return std::nullopt;
        }
        if (*value < min || *value > max) {
            fail(key, "expected an integer from " + std::to_string(min) + " to " +
                          std::to_string(max) + ", got " + std::to_string(*value));
            return std::nullopt;
        }
        return value;
    }

    const json::object* object_;
    std::string path_;
    std::optional<Refusal>* refusal_;
};

std::optional<std::string> string_member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    return std::string(v->get_string());
}

std::optional<std::int64_t> integer_member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_int64()) return std::nullopt;
    return v->get_int64();
}

Refusal broken(std::string message) { return Refusal{422, "broken_chain", std::move(message)}; }

std::string entry_name(const store::ChainEntry& e) {
    return "entry " + std::to_string(e.seq) + " (" + e.kind + " " + e.record_id + ")";
}

// Whether text holds a control character (C0 or DEL): none belongs in a one-line code.
bool has_control(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// The "withheld" member of an entry: {"code": 1 to 64 characters, "message": at most
// max_withheld_message_bytes}. Members beyond these two are ignored, as in the entry itself.
std::optional<WithheldReason> read_withheld(const json::value& value, ObjectReader& entry) {
    if (!value.is_object()) {
        entry.fail("withheld", "expected an object {\"code\", \"message\"}, got " +
                                   std::string(json_kind(value)));
        return std::nullopt;
    }
    std::optional<Refusal> refusal;
    ObjectReader w(value.get_object(), entry.where("withheld"), refusal);
    const json::string* code = w.string("code");
    const json::string* message = w.string("message");
    if (code != nullptr && (code->empty() || code->size() > 64 || has_control(*code))) {
        w.fail("code", "expected 1 to 64 characters with no control characters");
    }
    if (message != nullptr && message->size() > max_withheld_message_bytes) {
        w.fail("message", "expected at most " + std::to_string(max_withheld_message_bytes) +
                              " bytes, got " + std::to_string(message->size()));
    }
    if (refusal) {
        entry.fail_with(std::move(*refusal));
        return std::nullopt;
    }
    return WithheldReason{std::string(*code), std::string(*message)};
}

std::variant<IncomingEntry, Refusal> read_entry(const json::value& value, std::size_t index) {
    std::string path = "entries[" + std::to_string(index) + "]";
    if (!value.is_object()) {
        return Refusal{400, "bad_request",
                       path + ": expected an object, got " + std::string(json_kind(value))};
    }
    std::optional<Refusal> refusal;
    ObjectReader r(value.get_object(), path, refusal);
    IncomingEntry in;
    store::ChainEntry& e = in.entry;
    if (auto seq = r.integer("seq", 1, INT64_MAX)) e.seq = *seq;
    if (const json::string* kind = r.string("kind")) {
        if (valid_kind(*kind)) {
            e.kind = std::string(*kind);
        } else {
            r.fail("kind", "expected 1 to 64 of a-z 0-9 _");
        }
    }
    if (const json::string* id = r.string("record_id")) {
        if (valid_record_id(*id)) {
            e.record_id = std::string(*id);
        } else {
            r.fail("record_id", "expected 1 to 256 characters with no control characters");
        }
    }
    if (const json::string* action = r.string("action")) {
        if (*action == "put" || *action == "delete") {
            e.action = std::string(*action);
        } else {
            r.fail("action", "expected \"put\" or \"delete\"");
        }
    }
    if (auto h = r.hex<32>("payload_hash")) e.payload_hash = *h;
    if (auto h = r.hex<32>("prev_hash")) e.prev_hash = *h;
    if (auto h = r.hex<32>("entry_hash")) e.entry_hash = *h;
    if (auto t = r.integer("device_time_ms", INT64_MIN, INT64_MAX)) e.device_time_ms = *t;
    if (auto t = r.nullable_integer("gnss_time_ms")) e.gnss_time_ms = *t;
    const json::value* withheld = r.find("withheld", false);
    if (withheld != nullptr && withheld->is_null()) withheld = nullptr;
    const json::string* payload = nullptr;
    if (withheld != nullptr) {
        in.withheld = read_withheld(*withheld, r);
        if (const json::value* p = r.find("payload", true); p != nullptr && !p->is_null()) {
            r.fail("payload", "a withheld entry is sent without its payload (null), got " +
                                  std::string(json_kind(*p)));
        }
    } else if (const json::value* p = r.find("payload", true); p != nullptr && p->is_null()) {
        r.fail("payload", "null only with \"withheld\": {\"code\", \"message\"}");
    } else {
        payload = r.string("payload");
    }
    if (refusal) return *refusal;
    if (in.withheld) {
        // The entry hash covers payload_hash, not the payload: the chain still checks.
        if (store::compute_entry_hash(e) != e.entry_hash) {
            return broken(entry_name(e) + ": entry_hash does not match the entry's fields");
        }
        return in;
    }
    in.payload = std::string(*payload);

    boost::system::error_code ec;
    json::value parsed = json::parse(in.payload, ec);
    if (ec || !parsed.is_object()) {
        return Refusal{400, "bad_payload",
                       path + ".payload: " + entry_name(e) + ": the payload is not a JSON object" +
                           (ec ? " (" + ec.message() + ")" : std::string())};
    }
    if (sha256(in.payload) != e.payload_hash) {
        return broken(entry_name(e) + ": the payload does not match its payload_hash");
    }
    if (store::compute_entry_hash(e) != e.entry_hash) {
        return broken(entry_name(e) + ": entry_hash does not match the entry's fields");
    }
    extract_index(parsed.get_object(), in);
    if (e.kind == "photo" && e.action == "put" &&
        !(in.blob_sha256 && valid_sha256_hex(*in.blob_sha256))) {
        return Refusal{400, "bad_payload",
                       path + ".payload: " + entry_name(e) +
                           ": a photo record needs sha256, 64 lower-case hex digits"};
    }
    return in;
}

}  // namespace

bool valid_device_id(std::string_view id) {
    if (id.empty() || id.size() > 64 || id == "." || id == "..") return false;
    for (char c : id) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool valid_sha256_hex(std::string_view text) {
    if (text.size() != 64) return false;
    for (char c : text) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

void extract_index(const json::object& payload, IncomingEntry& in) {
    const std::string& kind = in.entry.kind;
    in.site_id = string_member(payload, "site_id");
    in.inspection_id = string_member(payload, "inspection_id");
    // Each kind's own time is what a supervisor filters on: when an inspection started, a
    // complaint was received, documents were handed over, a log line was written.
    std::optional<std::int64_t> time;
    if (kind == "inspection") {
        time = integer_member(payload, "started_ms");
    } else if (kind == "photo") {
        time = integer_member(payload, "capture_time_ms");
        in.blob_sha256 = string_member(payload, "sha256");
    } else if (kind == "complaint") {
        time = integer_member(payload, "received_ms");
    } else if (kind == "document_batch") {
        time = integer_member(payload, "handed_over_ms");
    } else if (kind == "device_log") {
        time = integer_member(payload, "time_ms");
    }
    if (!time) time = integer_member(payload, "device_time_ms");
    in.time_ms = time.value_or(in.entry.device_time_ms);
}

std::variant<Batch, Refusal> parse_batch(std::string_view body, const std::string& device_id,
                                         std::int64_t received_ms) {
    boost::system::error_code ec;
    json::value root = json::parse(body, ec);
    if (ec) {
        return Refusal{400, "bad_json", "the body is not valid JSON: " + ec.message()};
    }
    if (!root.is_object()) {
        return Refusal{400, "bad_request",
                       "the body must be a JSON object, got " + std::string(json_kind(root))};
    }
    std::optional<Refusal> refusal;
    ObjectReader r(root.get_object(), "", refusal);
    Batch batch;
    batch.device_id = device_id;
    batch.received_ms = received_ms;
    if (auto key = r.hex<32>("public_key")) batch.public_key = *key;
    if (const json::object* pending = r.object("pending", false)) {
        ObjectReader p(*pending, "pending", refusal);
        if (auto n = p.integer("entries", 0, INT64_MAX)) batch.pending_entries = *n;
        if (auto n = p.integer("bytes", 0, INT64_MAX)) batch.pending_bytes = *n;
    }
    const json::array* entries = r.array("entries");
    const json::object* head = r.object("head", true);
    if (head != nullptr) {
        ObjectReader h(*head, "head", refusal);
        if (auto seq = h.integer("seq", 1, INT64_MAX)) batch.head.seq = *seq;
        if (auto hash = h.hex<32>("entry_hash")) batch.head.entry_hash = *hash;
        if (auto sig = h.hex<64>("signature")) batch.head.signature = *sig;
    }
    if (refusal) return *refusal;
    if (entries->empty()) {
        return Refusal{400, "bad_request", "entries: a batch holds at least one entry"};
    }
    if (entries->size() > max_batch_entries) {
        return Refusal{400, "bad_request",
                       "entries: " + std::to_string(entries->size()) + " entries, more than the " +
                           std::to_string(max_batch_entries) + " a batch may hold"};
    }
    batch.entries.reserve(entries->size());
    for (std::size_t i = 0; i < entries->size(); ++i) {
        auto entry = read_entry((*entries)[i], i);
        if (auto* refused = std::get_if<Refusal>(&entry)) return std::move(*refused);
        auto& in = std::get<IncomingEntry>(entry);
        if (!batch.entries.empty()) {
            const store::ChainEntry& prev = batch.entries.back().entry;
            if (in.entry.seq != prev.seq + 1) {
                return Refusal{400, "bad_request",
                               "entries[" + std::to_string(i) +
                                   "].seq: " + std::to_string(in.entry.seq) + " follows " +
                                   std::to_string(prev.seq) +
                                   "; entries must be ascending and contiguous"};
            }
            if (in.entry.prev_hash != prev.entry_hash) {
                return broken(entry_name(in.entry) + " does not link to entry " +
                              std::to_string(prev.seq) + " (prev_hash differs)");
            }
        } else if (in.entry.seq == 1 && in.entry.prev_hash != store::genesis_hash(device_id)) {
            return broken(entry_name(in.entry) + " does not start the chain of device " +
                          device_id + " (prev_hash is not its genesis hash)");
        }
        batch.entries.push_back(std::move(in));
    }
    const store::ChainEntry& last = batch.entries.back().entry;
    if (batch.head.seq != last.seq || batch.head.entry_hash != last.entry_hash) {
        return broken("the head names entry " + std::to_string(batch.head.seq) +
                      ", not the batch's last entry " + std::to_string(last.seq));
    }
    if (!store::verify_signature(
            batch.public_key, store::head_message(device_id, batch.head.seq, batch.head.entry_hash),
            batch.head.signature)) {
        return broken("the head signature over entry " + std::to_string(batch.head.seq) +
                      " does not verify with public key " + to_hex(batch.public_key));
    }
    return batch;
}

}  // namespace fieldlog::server
