// Complaints (petitions) handed over in numbered batches, followed from receipt to closure.
#include <array>

#include "fieldlog/domain/reference_store.hpp"
#include "fieldlog/domain/summaries.hpp"
#include "operations.hpp"

namespace fieldlog::domain::ops {

namespace {

// The rule inspection teams work to: forward a complaint within one hour of receiving it.
constexpr std::int64_t forward_deadline_ms = 60 * 60 * 1000;

constexpr std::array<std::string_view, 5> statuses{"received", "forwarded", "investigating",
                                                   "stage_closed", "closed"};
constexpr std::array<std::string_view, 3> findings{"substantiated", "partly_substantiated",
                                                   "not_substantiated"};

Result<json::value> reply(store::Database& db, const std::string& case_number,
                          std::int64_t now_ms) {
    auto record = require_record(db, complaint_kind(), case_number, "complaint");
    if (!record) return record.error();
    return json::object{{"complaint", with_complaint_flags(std::move(*record), now_ms)}};
}

}  // namespace

json::object with_complaint_flags(json::object complaint, std::int64_t now_ms) {
    std::int64_t received = complaint.at("received_ms").as_int64();
    const json::value& forwarded = complaint.at("forwarded_ms");
    bool late = forwarded.is_int64() ? forwarded.as_int64() - received > forward_deadline_ms
                                     : now_ms - received > forward_deadline_ms;
    complaint["forward_late"] = late;
    return complaint;
}

Result<Job> complaint_add(const Context& c, const json::object& args) {
    auto a =
        Args::check("complaint.add", args,
                    {"case_number", "batch_number", "summary", "received_ms", "responsible_unit"});
    if (!a) return a.error();
    auto case_number = a->text("case_number", 64);
    if (!case_number) return case_number.error();
    if (auto ok = check_identifier("complaint.add: case_number", *case_number); !ok) {
        return ok.error();
    }
    // A case the office assigned to this device (docs/sync-protocol.md) brings its batch,
    // summary, receipt time and unit; what the request gives wins.
    auto batch_arg = a->opt_integer("batch_number");
    if (!batch_arg) return batch_arg.error();
    if (*batch_arg && (**batch_arg < 1 || **batch_arg > 100000))
        return a->error("batch_number", "must be within 1 to 100000");
    auto summary_arg = a->opt_text("summary", 4000);
    if (!summary_arg) return summary_arg.error();
    auto received_arg = a->opt_integer("received_ms");
    if (!received_arg) return received_arg.error();
    auto unit_arg = a->opt_text("responsible_unit", 256);
    if (!unit_arg) return unit_arg.error();
    return Job{
        [case_number = *case_number, batch_arg = *batch_arg, summary_arg = *summary_arg,
         received_arg = *received_arg, unit_arg = *unit_arg,
         now = c.now_ms](store::WriteContext& ctx) -> Result<json::value> {
            auto assigned = assigned_complaint(ctx.db(), case_number);
            if (!assigned) return assigned.error();
            if (!batch_arg && !*assigned) {
                return Error(Errc::invalid_argument,
                             "complaint.add: batch_number: required, as case '" + case_number +
                                 "' is not one the office assigned to this device");
            }
            const std::int64_t batch = batch_arg ? *batch_arg : (*assigned)->batch_number;
            const std::string summary = summary_arg.value_or(*assigned ? (*assigned)->summary : "");
            const std::int64_t received =
                received_arg.value_or(*assigned ? (*assigned)->received_ms.value_or(now) : now);
            const std::string unit =
                unit_arg.value_or(*assigned ? (*assigned)->responsible_unit : "");
            auto insert = ctx.db().prepare(
                "INSERT INTO complaints (case_number, batch_number, summary, received_ms, "
                "forwarded_ms, responsible_unit, status, finding, inspection_ids, notes, "
                "device_time_ms, last_seq) VALUES (?1, ?2, ?3, ?4, NULL, ?5, 'received', "
                "NULL, '[]', '', ?6, ?7) ON CONFLICT (case_number) DO NOTHING");
            if (!insert) return insert.error();
            (*insert)
                ->bind(1, case_number)
                .bind(2, batch)
                .bind(3, summary)
                .bind(4, received)
                .bind(5, unit)
                .bind(6, ctx.now_ms())
                .bind(7, ctx.next_seq());
            if (auto done = (*insert)->run(); !done) return done.error();
            if (ctx.db().changes() == 0) {
                return Error(Errc::conflict, "complaint '" + case_number + "' is already recorded");
            }
            if (auto seq = ctx.append(complaint_kind(), case_number, std::nullopt); !seq) {
                return seq.error();
            }
            return reply(ctx.db(), case_number, now);
        },
        nullptr};
}

Result<Job> complaint_forward(const Context& c, const json::object& args) {
    auto a =
        Args::check("complaint.forward", args, {"case_number", "responsible_unit", "forwarded_ms"});
    if (!a) return a.error();
    auto case_number = a->text("case_number", 64);
    if (!case_number) return case_number.error();
    auto unit = a->text("responsible_unit", 256);
    if (!unit) return unit.error();
    auto at = a->opt_integer("forwarded_ms");
    if (!at) return at.error();
    return Job{
        [case_number = *case_number, unit = *unit, at = at->value_or(c.now_ms),
         now = c.now_ms](store::WriteContext& ctx) -> Result<json::value> {
            auto complaint = require_record(ctx.db(), complaint_kind(), case_number, "complaint");
            if (!complaint) return complaint.error();
            if (at < complaint->at("received_ms").as_int64()) {
                return Error(Errc::invalid_argument,
                             "complaint.forward: forwarded_ms is before the complaint "
                             "was received");
            }
            auto status = complaint->at("status").as_string();
            if (status == "closed") {
                return Error(Errc::conflict, "complaint '" + case_number + "' is closed");
            }
            auto update = ctx.db().prepare(
                "UPDATE complaints SET forwarded_ms = ?1, responsible_unit = ?2, status = "
                "CASE status WHEN 'received' THEN 'forwarded' ELSE status END, last_seq = "
                "?3 WHERE case_number = ?4");
            if (!update) return update.error();
            (*update)->bind(1, at).bind(2, unit).bind(3, ctx.next_seq()).bind(4, case_number);
            if (auto done = (*update)->run(); !done) return done.error();
            if (auto seq = ctx.append(complaint_kind(), case_number, std::nullopt); !seq) {
                return seq.error();
            }
            return reply(ctx.db(), case_number, now);
        },
        nullptr};
}

Result<Job> complaint_update(const Context& c, const json::object& args) {
    auto a = Args::check("complaint.update", args,
                         {"case_number", "status", "finding", "inspection_id", "notes"});
    if (!a) return a.error();
    auto case_number = a->text("case_number", 64);
    if (!case_number) return case_number.error();
    auto status = a->opt_choice("status", statuses);
    if (!status) return status.error();
    auto finding = a->opt_choice("finding", findings);
    if (!finding) return finding.error();
    auto inspection_id = a->opt_text("inspection_id", 64);
    if (!inspection_id) return inspection_id.error();
    auto notes = a->opt_text("notes", 4000);
    if (!notes) return notes.error();
    if (!*status && !*finding && !*inspection_id && !*notes) {
        return Error(Errc::invalid_argument,
                     "complaint.update: give at least one of status, finding, inspection_id, "
                     "notes");
    }
    return Job{[case_number = *case_number, status = *status, finding = *finding,
                inspection_id = *inspection_id, notes = *notes,
                now = c.now_ms](store::WriteContext& ctx) -> Result<json::value> {
                   auto complaint =
                       require_record(ctx.db(), complaint_kind(), case_number, "complaint");
                   if (!complaint) return complaint.error();
                   if (complaint->at("status").as_string() == "closed") {
                       return Error(Errc::conflict,
                                    "complaint '" + case_number + "' is closed and cannot change");
                   }
                   std::string new_status =
                       status.value_or(std::string(complaint->at("status").as_string()));
                   bool has_finding = finding || complaint->at("finding").is_string();
                   if ((new_status == "closed" || new_status == "stage_closed") && !has_finding) {
                       return Error(Errc::invalid_argument,
                                    "complaint.update: closing a complaint needs a finding "
                                    "(substantiated, partly_substantiated or not_substantiated)");
                   }
                   json::array linked = complaint->at("inspection_ids").is_array()
                                            ? complaint->at("inspection_ids").as_array()
                                            : json::array();
                   if (inspection_id) {
                       auto inspection = require_record(ctx.db(), inspection_kind(), *inspection_id,
                                                        "inspection");
                       if (!inspection) return inspection.error();
                       bool present = false;
                       for (const auto& v : linked)
                           present = present || v.as_string() == *inspection_id;
                       if (!present) linked.emplace_back(*inspection_id);
                   }
                   auto update = ctx.db().prepare(
                       "UPDATE complaints SET status = ?1, finding = COALESCE(?2, finding), "
                       "inspection_ids = ?3, notes = COALESCE(?4, notes), last_seq = ?5 WHERE "
                       "case_number = ?6");
                   if (!update) return update.error();
                   (*update)
                       ->bind(1, new_status)
                       .bind(2, finding)
                       .bind(3, json_text(linked))
                       .bind(4, notes)
                       .bind(5, ctx.next_seq())
                       .bind(6, case_number);
                   if (auto done = (*update)->run(); !done) return done.error();
                   if (auto seq = ctx.append(complaint_kind(), case_number, std::nullopt); !seq) {
                       return seq.error();
                   }
                   return reply(ctx.db(), case_number, now);
               },
               nullptr};
}

Result<Job> complaint_list(const Context& c, const json::object& args) {
    auto a = Args::check("complaint.list", args, {"batch_number", "status"});
    if (!a) return a.error();
    auto batch = a->opt_integer("batch_number");
    if (!batch) return batch.error();
    auto status = a->opt_choice("status", statuses);
    if (!status) return status.error();
    return Job{
        nullptr,
        [batch = *batch, status = *status, now = c.now_ms,
         reference = c.reference](store::Database& db) -> Result<json::value> {
            auto found = query_records(
                db, complaint_kind(),
                "WHERE (?1 IS NULL OR batch_number = ?1) AND (?2 IS NULL OR status = ?2) "
                "ORDER BY batch_number, case_number",
                [&](store::Statement& s) { s.bind(1, batch).bind(2, status); });
            if (!found) return found.error();
            json::array list;
            for (auto& r : *found) list.push_back(with_complaint_flags(std::move(r), now));
            // Cases the office assigned that this device has not recorded yet; they
            // have no status, so a status filter leaves them out.
            json::array assigned;
            if (!status) {
                auto stmt = db.prepare(
                    "SELECT case_number, batch_number, summary, received_ms, "
                    "responsible_unit, site_id FROM reference_complaints WHERE "
                    "case_number NOT IN (SELECT case_number FROM complaints) AND (?1 IS "
                    "NULL OR batch_number = ?1) ORDER BY batch_number, case_number");
                if (!stmt) return stmt.error();
                (*stmt)->bind(1, batch);
                for (;;) {
                    auto row = (*stmt)->step();
                    if (!row) {
                        (*stmt)->reset();
                        return row.error();
                    }
                    if (!*row) break;
                    auto site_id = (*stmt)->opt_text(5);
                    const config::Site* site = site_id ? reference->find_site(*site_id) : nullptr;
                    assigned.push_back(json::object{
                        {"case_number", (*stmt)->text(0)},
                        {"batch_number", (*stmt)->int64(1)},
                        {"summary", (*stmt)->text(2)},
                        {"received_ms", opt((*stmt)->opt_int64(3))},
                        {"responsible_unit", (*stmt)->text(4)},
                        {"site_id", opt(site_id)},
                        {"site_name", site != nullptr ? json::value(site->name) : nullptr}});
                }
                (*stmt)->reset();
            }
            return json::object{{"complaints", std::move(list)}, {"assigned", std::move(assigned)}};
        }};
}

Result<Job> complaint_summary(const Context& c, const json::object& args) {
    auto a = Args::check("complaint.summary", args, {});
    if (!a) return a.error();
    return Job{nullptr, [now = c.now_ms](store::Database& db) -> Result<json::value> {
                   auto all = query_records(db, complaint_kind(), "", nullptr);
                   if (!all) return all.error();
                   ComplaintCounts counts;
                   std::int64_t late = 0;
                   for (auto& r : *all) {
                       ++counts.total;
                       auto status = r.at("status").as_string();
                       FindingCounts* group = status == "closed"         ? &counts.closed
                                              : status == "stage_closed" ? &counts.stage_closed
                                                                         : nullptr;
                       if (group == nullptr) {
                           ++counts.in_progress;
                       } else {
                           ++group->total;
                           const json::value& f = r.at("finding");
                           if (f.is_string() && f.as_string() == "substantiated") {
                               ++group->substantiated;
                           } else if (f.is_string() && f.as_string() == "partly_substantiated") {
                               ++group->partly_substantiated;
                           } else if (f.is_string() && f.as_string() == "not_substantiated") {
                               ++group->not_substantiated;
                           }
                       }
                       if (with_complaint_flags(std::move(r), now).at("forward_late").as_bool()) {
                           ++late;
                       }
                   }
                   auto findings_json = [](const FindingCounts& f) {
                       return json::object{{"total", f.total},
                                           {"substantiated", f.substantiated},
                                           {"partly_substantiated", f.partly_substantiated},
                                           {"not_substantiated", f.not_substantiated}};
                   };
                   return json::object{{"total", counts.total},
                                       {"closed", findings_json(counts.closed)},
                                       {"stage_closed", findings_json(counts.stage_closed)},
                                       {"in_progress", counts.in_progress},
                                       {"forwarded_late", late},
                                       {"text", complaint_summary_text(counts)}};
               }};
}

}  // namespace fieldlog::domain::ops
