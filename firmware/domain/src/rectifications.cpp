// Problems found on site that must be rectified by a deadline, and their follow-up checks.
#include "fieldlog/digest.hpp"
#include "operations.hpp"

namespace fieldlog::domain::ops {

json::object with_rectification_flags(json::object rectification, std::int64_t now_ms) {
    bool overdue = rectification.at("status").as_string() != "verified" &&
                   rectification.at("deadline_ms").as_int64() < now_ms;
    rectification["overdue"] = overdue;
    return rectification;
}

namespace {

Result<json::value> reply(store::Database& db, const std::string& id, std::int64_t now_ms) {
    auto record = require_record(db, rectification_kind(), id, "rectification item");
    if (!record) return record.error();
    return json::object{{"rectification", with_rectification_flags(std::move(*record), now_ms)}};
}

}  // namespace

Result<Job> rectification_add(const Context& c, const json::object& args) {
    auto a = Args::check("rectification.add", args,
                         {"problem", "responsible_party", "deadline_ms", "inspection_id", "notes"});
    if (!a) return a.error();
    auto problem = a->text("problem", 4000);
    if (!problem) return problem.error();
    auto party = a->text("responsible_party", 256);
    if (!party) return party.error();
    auto deadline = a->integer("deadline_ms");
    if (!deadline) return deadline.error();
    auto inspection_id = a->opt_text("inspection_id", 64);
    if (!inspection_id) return inspection_id.error();
    auto notes = a->opt_text("notes", 4000);
    if (!notes) return notes.error();
    return Job{[problem = *problem, party = *party, deadline = *deadline,
                inspection_id = *inspection_id, notes = notes->value_or(""),
                now = c.now_ms](store::WriteContext& ctx) -> Result<json::value> {
                   auto inspection = resolve_inspection(ctx.db(), inspection_id, false);
                   if (!inspection) return inspection.error();
                   if (deadline < inspection->at("started_ms").as_int64()) {
                       return Error(Errc::invalid_argument,
                                    "rectification.add: deadline_ms is before the inspection "
                                    "that found the problem");
                   }
                   std::string id = random_uuid();
                   auto insert = ctx.db().prepare(
                       "INSERT INTO rectifications (id, problem, inspection_id, "
                       "responsible_party, deadline_ms, status, verified_inspection_id, "
                       "verified_ms, notes, device_time_ms, last_seq) VALUES (?1, ?2, ?3, ?4, "
                       "?5, 'open', NULL, NULL, ?6, ?7, ?8)");
                   if (!insert) return insert.error();
                   (*insert)
                       ->bind(1, id)
                       .bind(2, problem)
                       .bind(3, inspection->at("id").as_string())
                       .bind(4, party)
                       .bind(5, deadline)
                       .bind(6, notes)
                       .bind(7, ctx.now_ms())
                       .bind(8, ctx.next_seq());
                   if (auto done = (*insert)->run(); !done) return done.error();
                   if (auto seq = ctx.append(rectification_kind(), id, std::nullopt); !seq) {
                       return seq.error();
                   }
                   return reply(ctx.db(), id, now);
               },
               nullptr};
}

Result<Job> rectification_verify(const Context& c, const json::object& args) {
    auto a = Args::check("rectification.verify", args,
                         {"rectification_id", "outcome", "inspection_id", "notes"});
    if (!a) return a.error();
    auto id = a->text("rectification_id", 64);
    if (!id) return id.error();
    auto outcome = a->opt_choice("outcome", {"verified", "failed_verification"});
    if (!outcome) return outcome.error();
    if (!*outcome) return a->error("outcome", "required");
    auto inspection_id = a->opt_text("inspection_id", 64);
    if (!inspection_id) return inspection_id.error();
    auto notes = a->opt_text("notes", 4000);
    if (!notes) return notes.error();
    return Job{
        [id = *id, outcome = **outcome, inspection_id = *inspection_id, notes = *notes,
         now = c.now_ms](store::WriteContext& ctx) -> Result<json::value> {
            auto item = require_record(ctx.db(), rectification_kind(), id, "rectification item");
            if (!item) return item.error();
            if (item->at("status").as_string() == "verified") {
                return Error(Errc::conflict, "rectification item '" + id + "' is already verified");
            }
            auto inspection = resolve_inspection(ctx.db(), inspection_id, false);
            if (!inspection) return inspection.error();
            auto update = ctx.db().prepare(
                "UPDATE rectifications SET status = ?1, verified_inspection_id = ?2, "
                "verified_ms = ?3, notes = COALESCE(?4, notes), last_seq = ?5 WHERE id = "
                "?6");
            if (!update) return update.error();
            (*update)
                ->bind(1, outcome)
                .bind(2, inspection->at("id").as_string())
                .bind(3, ctx.now_ms())
                .bind(4, notes)
                .bind(5, ctx.next_seq())
                .bind(6, id);
            if (auto done = (*update)->run(); !done) return done.error();
            if (auto seq = ctx.append(rectification_kind(), id, std::nullopt); !seq) {
                return seq.error();
            }
            return reply(ctx.db(), id, now);
        },
        nullptr};
}

Result<Job> rectification_list(const Context& c, const json::object& args) {
    auto a = Args::check("rectification.list", args, {"overdue", "status"});
    if (!a) return a.error();
    auto overdue = a->opt_boolean("overdue");
    if (!overdue) return overdue.error();
    auto status = a->opt_choice("status", {"open", "verified", "failed_verification"});
    if (!status) return status.error();
    return Job{nullptr,
               [only_overdue = overdue->value_or(false), status = *status,
                now = c.now_ms](store::Database& db) -> Result<json::value> {
                   auto found = query_records(
                       db, rectification_kind(),
                       "WHERE (?1 IS NULL OR status = ?1) AND (?2 = 0 OR (status <> 'verified' "
                       "AND deadline_ms < ?3)) ORDER BY deadline_ms",
                       [&](store::Statement& s) {
                           s.bind(1, status).bind(2, only_overdue ? 1 : 0).bind(3, now);
                       });
                   if (!found) return found.error();
                   json::array list;
                   for (auto& r : *found) {
                       list.push_back(with_rectification_flags(std::move(r), now));
                   }
                   return json::object{{"rectifications", std::move(list)}};
               }};
}

}  // namespace fieldlog::domain::ops
