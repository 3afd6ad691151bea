// Documents the inspection team asks for, handed over in numbered batches.
#include "fieldlog/domain/summaries.hpp"
#include "operations.hpp"

namespace fieldlog::domain::ops {

Result<Job> document_add(const Context& c, const json::object& args) {
    auto a =
        Args::check("document.add", args,
                    {"batch_number", "items", "documents", "topics", "handed_over_ms", "notes"});
    if (!a) return a.error();
    auto batch = a->integer("batch_number");
    if (!batch) return batch.error();
    if (*batch < 1 || *batch > 100000)
        return a->error("batch_number", "must be within 1 to 100000");
    auto items = a->integer("items");
    if (!items) return items.error();
    if (*items < 1 || *items > 1000000) return a->error("items", "must be within 1 to 1000000");
    auto documents = a->integer("documents");
    if (!documents) return documents.error();
    if (*documents < *items || *documents > 10000000) {
        return a->error("documents",
                        "must be at least the number of items (each item is one or "
                        "more documents)");
    }
    auto topics = a->text_list("topics", 64, 128);
    if (!topics) return topics.error();
    auto at = a->opt_integer("handed_over_ms");
    if (!at) return at.error();
    auto notes = a->opt_text("notes", 4000);
    if (!notes) return notes.error();
    return Job{[batch = *batch, items = *items, documents = *documents,
                topics = json_text(to_array(*topics)), at = at->value_or(c.now_ms),
                notes = notes->value_or("")](store::WriteContext& ctx) -> Result<json::value> {
                   auto insert = ctx.db().prepare(
                       "INSERT INTO document_batches (batch_number, items, documents, topics, "
                       "handed_over_ms, notes, device_time_ms, last_seq) VALUES (?1, ?2, ?3, ?4, "
                       "?5, ?6, ?7, ?8) ON CONFLICT (batch_number) DO NOTHING");
                   if (!insert) return insert.error();
                   (*insert)
                       ->bind(1, batch)
                       .bind(2, items)
                       .bind(3, documents)
                       .bind(4, topics)
                       .bind(5, at)
                       .bind(6, notes)
                       .bind(7, ctx.now_ms())
                       .bind(8, ctx.next_seq());
                   if (auto done = (*insert)->run(); !done) return done.error();
                   if (ctx.db().changes() == 0) {
                       return Error(Errc::conflict, "document batch " + std::to_string(batch) +
                                                        " is already recorded");
                   }
                   std::string id = std::to_string(batch);
                   if (auto seq = ctx.append(document_batch_kind(), id, std::nullopt); !seq) {
                       return seq.error();
                   }
                   auto record = require_record(ctx.db(), document_batch_kind(), id, "batch");
                   if (!record) return record.error();
                   return json::object{{"document_batch", std::move(*record)}};
               },
               nullptr};
}

Result<Job> document_list(const Context&, const json::object& args) {
    auto a = Args::check("document.list", args, {});
    if (!a) return a.error();
    return Job{nullptr, [](store::Database& db) -> Result<json::value> {
                   auto found =
                       query_records(db, document_batch_kind(), "ORDER BY batch_number", nullptr);
                   if (!found) return found.error();
                   json::array list;
                   for (auto& r : *found) list.push_back(std::move(r));
                   return json::object{{"document_batches", std::move(list)}};
               }};
}

Result<Job> document_summary(const Context&, const json::object& args) {
    auto a = Args::check("document.summary", args, {});
    if (!a) return a.error();
    return Job{nullptr, [](store::Database& db) -> Result<json::value> {
                   auto stmt = db.prepare(
                       "SELECT COUNT(*), COALESCE(SUM(items), 0), COALESCE(SUM(documents), 0) "
                       "FROM document_batches");
                   if (!stmt) return stmt.error();
                   auto row = (*stmt)->step();
                   if (!row) return row.error();
                   DocumentCounts counts{(*stmt)->int64(0), (*stmt)->int64(1), (*stmt)->int64(2)};
                   (*stmt)->reset();
                   return json::object{{"batches", counts.batches},
                                       {"items", counts.items},
                                       {"documents", counts.documents},
                                       {"text", document_summary_text(counts)}};
               }};
}

}  // namespace fieldlog::domain::ops
