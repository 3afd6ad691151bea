// The supervisors' side of the API: devices, records, device logs, summaries and chain checks.
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <initializer_list>
#include <map>

#include "api.hpp"
#include "fieldlog/domain/summaries.hpp"
#include "fieldlog/store/evidence.hpp"

namespace fieldlog::server {

namespace json = boost::json;

namespace {

constexpr std::int64_t default_limit = 100;
constexpr std::int64_t max_limit = 1000;
constexpr std::int64_t verify_page = 1000;
// A complaint must be forwarded to the responsible unit within an hour of receipt.
constexpr std::int64_t forward_deadline_ms = 60 * 60 * 1000;

HttpResponse ok_json(const json::object& body) {
    HttpResponse r;
    r.body = json::serialize(body);
    return r;
}

json::value optional_int(const std::optional<std::int64_t>& v) {
    return v ? json::value(*v) : json::value(nullptr);
}

// Query parameters of one endpoint: anything not listed is refused, so a misspelt filter
// fails instead of silently returning everything.
class Params {
public:
    Params(const Target& target, std::initializer_list<std::string_view> allowed)
        : target_(&target) {
        for (const auto& [key, value] : target.params) {
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                std::string list;
                for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
                fail("unknown query parameter " + key + "; expected " +
                     (list.empty() ? std::string("none") : list));
                return;
            }
        }
    }

    std::optional<std::string> text(std::string_view key) {
        for (const auto& [k, v] : target_->params) {
            // "?kind=&site_id=x": an empty value is no filter, as forms and scripts send it.
            if (k != key || v.empty()) continue;
            if (v.size() > 256) {
                fail(std::string(key) + ": expected at most 256 characters");
                return std::nullopt;
            }
            return v;
        }
        return std::nullopt;
    }

    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) {
        auto v = text(key);
        if (!v) return std::nullopt;
        std::int64_t value = 0;
        auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), value);
        if (ec != std::errc() || end != v->data() + v->size() || value < min || value > max) {
            fail(std::string(key) + ": expected an integer from " + std::to_string(min) + " to " +
                 std::to_string(max) + ", got " + *v);
            return std::nullopt;
        }
        return value;
    }

    const std::optional<HttpResponse>& refusal() const { return refusal_; }

private:
    void fail(const std::string& message) {
        if (!refusal_) refusal_ = error_response(400, "bad_request", message);
    }

    const Target* target_;
    std::optional<HttpResponse> refusal_;
};

json::object parse_payload(const std::string& payload) {
    boost::system::error_code ec;
    json::value v = json::parse(payload, ec);
    // Payloads were checked to be objects at ingest; anything else means the store was edited.
    if (ec || !v.is_object()) return json::object{{"unreadable_payload", payload}};
    return std::move(v.get_object());
}

json::object record_json(const StoredRecord& r) {
    return json::object{{"device_id", r.device_id},
                        {"seq", r.seq},
                        {"kind", r.kind},
                        {"record_id", r.record_id},
                        {"site_id", r.site_id ? json::value(*r.site_id) : json::value(nullptr)},
                        {"time_ms", optional_int(r.time_ms)},
                        {"device_time_ms", r.device_time_ms},
                        {"gnss_time_ms", optional_int(r.gnss_time_ms)},
                        {"received_ms", r.received_ms},
                        {"record", parse_payload(r.payload)}};
}

std::optional<std::int64_t> int_member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_int64() ? std::optional(v->get_int64()) : std::nullopt;
}

std::string string_member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The same complaint or document batch logged on two devices of one team counts once: its
// number is the team's, not the device's. The newest version (by device time) wins.
std::vector<json::object> latest_by_record_id(const std::vector<StoredRecord>& records) {
    std::map<std::string, std::pair<const StoredRecord*, json::object>> latest;
    for (const StoredRecord& r : records) {
        json::object payload = parse_payload(r.payload);
        auto it = latest.find(r.record_id);
        if (it == latest.end() ||
            std::pair(r.device_time_ms, r.received_ms) >
                std::pair(it->second.first->device_time_ms, it->second.first->received_ms)) {
            latest[r.record_id] = {&r, std::move(payload)};
        }
    }
    std::vector<json::object> out;
    out.reserve(latest.size());
    for (auto& [id, entry] : latest) out.push_back(std::move(entry.second));
    return out;
}

json::object findings_json(const domain::FindingCounts& f) {
    return json::object{{"total", f.total},
                        {"substantiated", f.substantiated},
                        {"partly_substantiated", f.partly_substantiated},
                        {"not_substantiated", f.not_substantiated}};
}

}  // namespace

HttpResponse Api::list_devices() {
    auto devices = store_->devices();
    if (!devices) return store_failure(devices.error());
    json::array list;
    for (const DeviceInfo& d : *devices) {
        list.push_back(json::object{
            {"device_id", d.device_id},
            {"public_key", d.public_key ? json::value(to_hex(*d.public_key)) : json::value()},
            {"enrolled_ms", d.enrolled_ms},
            {"revoked_ms", optional_int(d.revoked_ms)},
            {"last_sync_ms", optional_int(d.last_sync_ms)},
            {"acked_seq", d.acked_seq},
            {"head_seq", d.head_seq},
            {"pending_entries", d.pending_entries},
            {"pending_bytes", d.pending_bytes},
            {"withheld_entries", d.withheld_entries},
            {"reference_version", optional_int(d.reference_version)},
            {"reference_reported_ms", optional_int(d.reference_reported_ms)}});
    }
    return ok_json(json::object{{"devices", std::move(list)}});
}

HttpResponse Api::get_records(const Target& target) {
    Params p(target, {"device_id", "kind", "site_id", "from_ms", "to_ms", "limit", "after_seq"});
    RecordQuery q;
    q.device_id = p.text("device_id");
    q.kind = p.text("kind");
    q.site_id = p.text("site_id");
    q.from_ms = p.integer("from_ms", INT64_MIN, INT64_MAX);
    q.to_ms = p.integer("to_ms", INT64_MIN, INT64_MAX);
    q.after_seq = p.integer("after_seq", 0, INT64_MAX);
    q.limit = p.integer("limit", 1, max_limit).value_or(default_limit);
    if (p.refusal()) return *p.refusal();
    auto records = store_->records(q);
    if (!records) return store_failure(records.error());
    json::array list;
    for (const StoredRecord& r : *records) list.push_back(record_json(r));
    return ok_json(json::object{{"records", std::move(list)}});
}

HttpResponse Api::get_logs(const Target& target, const std::string& device_id) {
    Params p(target, {"limit"});
    RecordQuery q;
    q.device_id = device_id;
    q.kind = "device_log";
    q.newest_first = true;
    q.limit = p.integer("limit", 1, max_limit).value_or(default_limit);
    if (p.refusal()) return *p.refusal();
    auto device = store_->device(device_id);
    if (!device) return store_failure(device.error());
    if (!*device)
        return error_response(404, "not_found", "device " + device_id + " is not enrolled");
    auto records = store_->records(q);
    if (!records) return store_failure(records.error());
    json::array entries;
    for (const StoredRecord& r : *records) entries.push_back(parse_payload(r.payload));
    return ok_json(json::object{{"device_id", device_id}, {"entries", std::move(entries)}});
}

HttpResponse Api::get_withheld(const Target& target, const std::string& device_id) {
    Params p(target, {"limit", "after_seq"});
    std::int64_t limit = p.integer("limit", 1, max_limit).value_or(default_limit);
    std::int64_t after_seq = p.integer("after_seq", 0, INT64_MAX).value_or(0);
    if (p.refusal()) return *p.refusal();
    auto device = store_->device(device_id);
    if (!device) return store_failure(device.error());
    if (!*device)
        return error_response(404, "not_found", "device " + device_id + " is not enrolled");
    auto list = store_->withheld(device_id, after_seq, limit);
    if (!list) return store_failure(list.error());
    json::array entries;
    for (const WithheldEntry& w : *list) {
        entries.push_back(json::object{{"seq", w.seq},
                                       {"kind", w.kind},
                                       {"record_id", w.record_id},
                                       {"action", w.action},
                                       {"device_time_ms", w.device_time_ms},
                                       {"code", w.reason.code},
                                       {"message", w.reason.message},
                                       {"received_ms", w.received_ms}});
    }
    return ok_json(json::object{{"device_id", device_id},
                                {"withheld_entries", (*device)->withheld_entries},
                                {"entries", std::move(entries)}});
}

HttpResponse Api::complaint_summary(const Target& target) {
    Params p(target, {"device_id"});
    RecordQuery q;
    q.device_id = p.text("device_id");
    q.kind = "complaint";
    if (p.refusal()) return *p.refusal();
    auto records = store_->records(q);
    if (!records) return store_failure(records.error());
    const std::int64_t now = clock_->wall_ms();
    domain::ComplaintCounts counts;
    std::int64_t late = 0;
    for (const json::object& c : latest_by_record_id(*records)) {
        ++counts.total;
        std::string status = string_member(c, "status");
        domain::FindingCounts* group = status == "closed"         ? &counts.closed
                                       : status == "stage_closed" ? &counts.stage_closed
                                                                  : nullptr;
        if (group == nullptr) {
            ++counts.in_progress;
        } else {
            ++group->total;
            std::string finding = string_member(c, "finding");
            if (finding == "substantiated") {
                ++group->substantiated;
            } else if (finding == "partly_substantiated") {
                ++group->partly_substantiated;
            } else if (finding == "not_substantiated") {
                ++group->not_substantiated;
            }
        }
        auto received = int_member(c, "received_ms");
        auto forwarded = int_member(c, "forwarded_ms");
        if (received && (forwarded ? *forwarded - *received > forward_deadline_ms
                                   : now - *received > forward_deadline_ms)) {
            ++late;
        }
    }
    return ok_json(json::object{{"total", counts.total},
                                {"closed", findings_json(counts.closed)},
                                {"stage_closed", findings_json(counts.stage_closed)},
                                {"in_progress", counts.in_progress},
                                {"forwarded_late", late},
                                {"text", domain::complaint_summary_text(counts)}});
}

HttpResponse Api::document_summary(const Target& target) {
    Params p(target, {"device_id"});
    RecordQuery q;
    q.device_id = p.text("device_id");
    q.kind = "document_batch";
    if (p.refusal()) return *p.refusal();
    auto records = store_->records(q);
    if (!records) return store_failure(records.error());
    domain::DocumentCounts counts;
    for (const json::object& b : latest_by_record_id(*records)) {
        ++counts.batches;
        counts.items += int_member(b, "items").value_or(0);
        counts.documents += int_member(b, "documents").value_or(0);
    }
    return ok_json(json::object{{"batches", counts.batches},
                                {"items", counts.items},
                                {"documents", counts.documents},
                                {"text", domain::document_summary_text(counts)}});
}

HttpResponse Api::verify_device(const std::string& device_id) {
    auto device = store_->device(device_id);
    if (!device) return store_failure(device.error());
    if (!*device)
        return error_response(404, "not_found", "device " + device_id + " is not enrolled");
    auto heads = store_->heads(device_id);
    if (!heads) return store_failure(heads.error());

    json::array problems;
    auto problem = [&](std::int64_t seq, const std::string& what) {
        problems.push_back(json::object{{"seq", seq}, {"what", what}});
    };
    // Each head's seq, to be checked against the entry hash found when the walk reaches it.
    std::map<std::int64_t, const StoredHead*> head_at;
    for (const StoredHead& h : *heads) head_at[h.head.seq] = &h;

    Sha256 prev = store::genesis_hash(device_id);
    std::int64_t expected = 1;
    std::int64_t checked = 0;
    std::int64_t withheld = 0;
    for (;;) {
        auto page = store_->entries(device_id, expected - 1, verify_page);
        if (!page) return store_failure(page.error());
        for (const StoredEntry& s : *page) {
            const store::ChainEntry& e = s.entry;
            ++checked;
            std::string name =
                "entry " + std::to_string(e.seq) + " (" + e.kind + " " + e.record_id + ")";
            if (e.seq != expected) {
                problem(expected, "entries " + std::to_string(expected) + " to " +
                                      std::to_string(e.seq - 1) + " are missing");
            } else if (e.prev_hash != prev) {
                problem(e.seq, name + " does not link to the entry before it");
            }
            // A withheld entry is present without its payload: its fields, hash and link are
            // checked like any other's, and there is no payload to hash.
            if (!s.payload) {
                ++withheld;
                if (!s.withheld) {
                    problem(e.seq, name + " has neither a payload nor a withheld reason");
                }
            } else if (sha256(*s.payload) != e.payload_hash) {
                problem(e.seq, name + ": the stored payload does not match its payload_hash");
            }
            if (store::compute_entry_hash(e) != e.entry_hash) {
                problem(e.seq, name + ": the stored fields do not match its entry_hash");
            }
            if (auto it = head_at.find(e.seq);
                it != head_at.end() && it->second->head.entry_hash != e.entry_hash) {
                problem(e.seq, "the signed head at entry " + std::to_string(e.seq) +
                                   " names another entry hash than the one stored");
            }
            prev = e.entry_hash;
            expected = e.seq + 1;
        }
        if (static_cast<std::int64_t>(page->size()) < verify_page) break;
    }
    const std::int64_t last = expected - 1;
    if (last != (*device)->acked_seq) {
        problem(last, "the chain ends at entry " + std::to_string(last) +
                          " but the device was acknowledged up to " +
                          std::to_string((*device)->acked_seq));
    }
    std::int64_t head_seq = 0;
    for (const StoredHead& h : *heads) {
        head_seq = std::max(head_seq, h.head.seq);
        if (h.head.seq > last) {
            problem(h.head.seq, "a signed head names entry " + std::to_string(h.head.seq) +
                                    ", beyond the stored chain: entries were removed");
        }
        if (!(*device)->public_key) {
            problem(h.head.seq, "no public key is pinned to check the signed heads with");
        } else if (!store::verify_signature(
                       *(*device)->public_key,
                       store::head_message(device_id, h.head.seq, h.head.entry_hash),
                       h.head.signature)) {
            problem(h.head.seq, "the signed head at entry " + std::to_string(h.head.seq) +
                                    " does not verify with the device's public key");
        }
    }
    if (last > 0 && head_seq < last) {
        problem(last, "entries " + std::to_string(head_seq + 1) + " to " + std::to_string(last) +
                          " are not covered by a signed head");
    }
    std::stable_sort(problems.begin(), problems.end(),
                     [](const json::value& a, const json::value& b) {
                         return a.at("seq").as_int64() < b.at("seq").as_int64();
                     });
    bool ok = problems.empty();
    return ok_json(json::object{{"device_id", device_id},
                                {"ok", ok},
                                {"entries_checked", checked},
                                {"withheld_entries", withheld},
                                {"heads_checked", static_cast<std::int64_t>(heads->size())},
                                {"acked_seq", (*device)->acked_seq},
                                {"head_seq", head_seq},
                                {"problems", std::move(problems)}});
}

}  // namespace fieldlog::server
