// What supervisors and the inspector read back: status, evidence verification, exports and the
// device log.
#include "fieldlog/domain/reference_store.hpp"
#include "fieldlog/store/schema.hpp"
#include "operations.hpp"

namespace fieldlog::domain::ops {

namespace {

json::object disabled_sync_status() {
    return json::object{{"enabled", false},
                        {"state", "stopped"},
                        {"last_success_ms", nullptr},
                        {"last_error", nullptr},
                        {"next_attempt_ms", nullptr}};
}

// status.reference: which reference data requests are judged against.
Result<json::object> reference_status_of(store::Database& db,
                                         const config::ReferenceData& reference) {
    auto held = stored_reference_version(db);
    if (!held) return held.error();
    auto assigned = count_rows(db, "SELECT COUNT(*) FROM reference_complaints");
    if (!assigned) return assigned.error();
    json::object out{{"source", *held ? "office" : "config_files"},
                     {"version", *held ? json::value((*held)->version) : json::value(nullptr)},
                     {"sha256", *held ? json::value((*held)->sha256) : json::value(nullptr)},
                     {"published_ms", *held ? json::value((*held)->published_ms) : nullptr},
                     {"applied_ms", *held ? json::value((*held)->applied_ms) : nullptr},
                     {"sites", reference.sites.size()},
                     {"standards", reference.standards.size()},
                     {"assigned_complaints", *assigned}};
    return out;
}

json::array to_json_array(std::vector<json::object>&& records) {
    json::array out;
    out.reserve(records.size());
    for (auto& r : records) out.push_back(std::move(r));
    return out;
}

}  // namespace

Result<Job> status(const Context& c, const json::object& args) {
    auto a = Args::check("status", args, {});
    if (!a) return a.error();
    return Job{nullptr,
               [device_id = c.store.device_id(), sync = c.options.sync,
                reference = c.reference](store::Database& db) -> Result<json::value> {
                   json::object counts;
                   constexpr std::pair<std::string_view, std::string_view> tables[] = {
                       {"inspections", "SELECT COUNT(*) FROM inspections"},
                       {"measurements", "SELECT COUNT(*) FROM measurements"},
                       {"photos", "SELECT COUNT(*) FROM photos"},
                       {"complaints", "SELECT COUNT(*) FROM complaints"},
                       {"document_batches", "SELECT COUNT(*) FROM document_batches"},
                       {"rectifications", "SELECT COUNT(*) FROM rectifications"},
                   };
                   for (const auto& [name, sql] : tables) {
                       auto n = count_rows(db, sql);
                       if (!n) return n.error();
                       counts[name] = *n;
                   }
                   auto stmt =
                       db.prepare("SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox");
                   if (!stmt) return stmt.error();
                   auto row = (*stmt)->step();
                   if (!row) return row.error();
                   json::object outbox{{"pending_entries", (*stmt)->int64(0)},
                                       {"pending_bytes", (*stmt)->int64(1)}};
                   (*stmt)->reset();
                   auto head = count_rows(db, "SELECT COALESCE(MAX(seq), 0) FROM chain_head");
                   if (!head) return head.error();
                   outbox["head_seq"] = *head;
                   // From the database, not Store::outbox_stats(): this job already runs on the
                   // store thread, which that call would wait for. Both read the committed head.
                   auto signed_head =
                       count_rows(db, "SELECT COALESCE(MAX(signed_seq), 0) FROM chain_head");
                   if (!signed_head) return signed_head.error();
                   outbox["signed_head_seq"] = *signed_head;
                   auto pages = count_rows(db, "PRAGMA page_count");
                   if (!pages) return pages.error();
                   auto page_size = count_rows(db, "PRAGMA page_size");
                   if (!page_size) return page_size.error();
                   auto open = open_inspection(db);
                   if (!open) return open.error();
                   auto version = store::schema_version(db);
                   if (!version) return version.error();
                   auto parked = count_rows(db, "SELECT COUNT(*) FROM parked_entries");
                   if (!parked) return parked.error();
                   auto reference_status = reference_status_of(db, *reference);
                   if (!reference_status) return reference_status.error();
                   json::object sync_status = sync ? sync->status() : disabled_sync_status();
                   sync_status["pending_entries"] = outbox["pending_entries"];
                   sync_status["pending_bytes"] = outbox["pending_bytes"];
                   sync_status["parked_entries"] = *parked;
                   return json::object{
                       {"device_id", device_id},
                       {"schema_version", *version},
                       {"database_bytes", *pages * *page_size},
                       {"open_inspection", *open ? json::value(std::move(**open)) : nullptr},
                       {"outbox", std::move(outbox)},
                       {"counts", std::move(counts)},
                       {"sync", std::move(sync_status)},
                       {"reference", std::move(*reference_status)}};
               }};
}

Result<Job> verify(const Context& c, const json::object& args) {
    auto a = Args::check("verify", args, {});
    if (!a) return a.error();
    return Job{nullptr, [&store = c.store](store::Database& db) -> Result<json::value> {
                   auto report = store::verify_evidence(db, store.device_id(), store.public_key(),
                                                        store.kinds());
                   if (!report) return report.error();
                   json::array problems;
                   for (const auto& p : report->problems) {
                       problems.push_back(json::object{{"seq", p.seq},
                                                       {"kind", p.kind},
                                                       {"record_id", p.record_id},
                                                       {"what", p.what}});
                   }
                   return json::object{{"ok", report->ok()},
                                       {"entries_checked", report->entries_checked},
                                       {"records_checked", report->records_checked},
                                       {"head_seq", report->head_seq},
                                       {"unsigned_entries", report->unsigned_entries},
                                       {"problems", std::move(problems)}};
               }};
}

Result<Job> export_records(const Context& c, const json::object& args) {
    auto a = Args::check("export", args, {"from_ms", "to_ms"});
    if (!a) return a.error();
    auto from = a->integer("from_ms");
    if (!from) return from.error();
    auto to = a->integer("to_ms");
    if (!to) return to.error();
    if (*to < *from) return a->error("to_ms", "is before from_ms");
    return Job{
        nullptr,
        [from = *from, to = *to, now = c.now_ms,
         device_id = c.store.device_id()](store::Database& db) -> Result<json::value> {
            auto range = [&](store::Statement& s) { s.bind(1, from).bind(2, to); };
            auto inspections = query_records(
                db, inspection_kind(),
                "WHERE started_ms >= ?1 AND started_ms <= ?2 ORDER BY started_ms", range);
            if (!inspections) return inspections.error();
            json::array nested;
            for (auto& inspection : *inspections) {
                std::string id(inspection.at("id").as_string());
                auto by_id = [&](store::Statement& s) { s.bind(1, id); };
                auto m = query_records(db, measurement_kind(),
                                       "WHERE inspection_id = ?1 ORDER BY last_seq", by_id);
                if (!m) return m.error();
                auto p = query_records(db, photo_kind(),
                                       "WHERE inspection_id = ?1 ORDER BY last_seq", by_id);
                if (!p) return p.error();
                auto k = query_records(db, mark_kind(),
                                       "WHERE inspection_id = ?1 ORDER BY last_seq", by_id);
                if (!k) return k.error();
                auto cmp = comparisons_for(db, id);
                if (!cmp) return cmp.error();
                inspection["measurements"] = to_json_array(std::move(*m));
                inspection["comparisons"] = std::move(*cmp);
                inspection["photos"] = to_json_array(std::move(*p));
                inspection["marks"] = to_json_array(std::move(*k));
                nested.push_back(std::move(inspection));
            }
            auto complaints = query_records(
                db, complaint_kind(),
                "WHERE received_ms >= ?1 AND received_ms <= ?2 ORDER BY received_ms", range);
            if (!complaints) return complaints.error();
            json::array complaint_list;
            for (auto& r : *complaints) {
                complaint_list.push_back(with_complaint_flags(std::move(r), now));
            }
            auto batches = query_records(
                db, document_batch_kind(),
                "WHERE handed_over_ms >= ?1 AND handed_over_ms <= ?2 ORDER BY batch_number", range);
            if (!batches) return batches.error();
            auto rectifications = query_records(
                db, rectification_kind(),
                "WHERE device_time_ms >= ?1 AND device_time_ms <= ?2 ORDER BY deadline_ms", range);
            if (!rectifications) return rectifications.error();
            json::array rect_list;
            for (auto& r : *rectifications) {
                rect_list.push_back(with_rectification_flags(std::move(r), now));
            }
            return json::object{{"device_id", device_id},
                                {"from_ms", from},
                                {"to_ms", to},
                                {"exported_ms", now},
                                {"inspections", std::move(nested)},
                                {"complaints", std::move(complaint_list)},
                                {"document_batches", to_json_array(std::move(*batches))},
                                {"rectifications", std::move(rect_list)}};
        }};
}

Result<Job> logs(const Context&, const json::object& args) {
    auto a = Args::check("logs", args, {"limit", "level"});
    if (!a) return a.error();
    auto limit = a->opt_integer("limit");
    if (!limit) return limit.error();
    if (*limit && (**limit < 1 || **limit > 100000)) {
        return a->error("limit", "must be within 1 to 100000");
    }
    auto level = a->opt_choice("level", {"info", "warning", "error"});
    if (!level) return level.error();
    return Job{
        nullptr,
        [limit = limit->value_or(100), level = *level](store::Database& db) -> Result<json::value> {
            auto found = query_records(
                db, device_log_kind(), "WHERE (?1 IS NULL OR level = ?1) ORDER BY id DESC LIMIT ?2",
                [&](store::Statement& s) { s.bind(1, level).bind(2, limit); });
            if (!found) return found.error();
            return json::object{{"entries", to_json_array(std::move(*found))}};
        }};
}

Result<Job> sync_now(const Context& c, const json::object& args) {
    auto a = Args::check("sync", args, {"wait"});
    if (!a) return a.error();
    auto wait = a->opt_boolean("wait");
    if (!wait) return wait.error();
    if (!c.options.sync) {
        return Error(Errc::conflict,
                     "sync is disabled: set [sync] url and token_file in the daemon's "
                     "configuration");
    }
    return Job::act([sync = c.options.sync, wait = wait->value_or(false)](store::Store::Done done) {
        sync->sync(wait, std::move(done));
    });
}

}  // namespace fieldlog::domain::ops
