// Marks: waypoints an inspector sets in the open inspection (the device's button held down, or
// `fieldlog mark`), each with the time and, when the receiver has a fresh fix, the position.
#include "fieldlog/digest.hpp"
#include "operations.hpp"
#include "placement.hpp"

namespace fieldlog::domain::ops {

Result<Job> mark_add(const Context& c, const json::object& args) {
    auto a = Args::check("mark.add", args, {"label", "source"});
    if (!a) return a.error();
    auto label = a->opt_text("label", 256);
    if (!label) return label.error();
    auto source = a->opt_choice("source", {"button", "cli"});
    if (!source) return source.error();

    return Job{
        [label = label->value_or(""), source = source->value_or("cli"),
         at = placement_of(c.fix)](store::WriteContext& ctx) -> Result<json::value> {
            // Only the open inspection: a mark is "here, now", which a closed one cannot be.
            auto inspection = inspection_for_record(ctx.db(), "mark.add", std::nullopt,
                                                    NamedInspection::not_taken);
            if (!inspection) return inspection.error();
            std::string id = random_uuid();
            auto insert = ctx.db().prepare(
                "INSERT INTO marks (id, inspection_id, label, source, device_time_ms, "
                "gnss_time_ms, lat, lon, last_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
            if (!insert) return insert.error();
            (*insert)
                ->bind(1, id)
                .bind(2, inspection->at("id").as_string())
                .bind(3, label)
                .bind(4, source)
                .bind(5, ctx.now_ms())
                .bind(6, at.gnss_time_ms)
                .bind(7, at.lat)
                .bind(8, at.lon)
                .bind(9, ctx.next_seq());
            if (auto done = (*insert)->run(); !done) return done.error();
            if (auto seq = ctx.append(mark_kind(), id, at.gnss_time_ms); !seq) return seq.error();
            auto record = require_record(ctx.db(), mark_kind(), id, "mark");
            if (!record) return record.error();
            return json::object{{"mark", std::move(*record)}};
        },
        nullptr};
}

Result<Job> mark_list(const Context&, const json::object& args) {
    return list_in_inspection("mark.list", args, mark_kind(), "marks");
}

}  // namespace fieldlog::domain::ops
