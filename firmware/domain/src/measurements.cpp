// Wastewater readings, judged against the site's limit the moment they are saved.
#include <map>

#include "fieldlog/digest.hpp"
#include "fieldlog/discharge/judge.hpp"
#include "operations.hpp"
#include "placement.hpp"

namespace fieldlog::domain::ops {

Result<Job> measurement_add(const Context& c, const json::object& args) {
    auto a = Args::check("measurement.add", args,
                         {"inspection_id", "parameter", "value", "unit", "sampling_point", "method",
                          "lab_sample_id", "water_temp_c"});
    if (!a) return a.error();
    auto inspection_id = a->opt_text("inspection_id", 64);
    if (!inspection_id) return inspection_id.error();
    auto parameter = a->text("parameter", 32);
    if (!parameter) return parameter.error();
    auto value = a->number("value");
    if (!value) return value.error();
    auto unit = a->opt_text("unit", 16);
    if (!unit) return unit.error();
    auto point = a->opt_text("sampling_point", 128);
    if (!point) return point.error();
    auto method = a->opt_choice("method", {"field", "online", "lab"});
    if (!method) return method.error();
    auto lab_sample = a->opt_text("lab_sample_id", 64);
    if (!lab_sample) return lab_sample.error();
    auto water_temp = a->opt_number("water_temp_c");
    if (!water_temp) return water_temp.error();
    if (method->value_or("field") == "lab" && !*lab_sample) {
        return a->error("lab_sample_id", "required for a lab sample");
    }

    auto reading = discharge::normalise_reading(*parameter, *value, unit->value_or(""));
    if (!reading) return Error(reading.error()).context("measurement.add");
    if (*water_temp) {
        if (auto t = discharge::normalise_reading("water_temp", **water_temp, "degC"); !t) {
            return Error(t.error()).context("measurement.add: water_temp_c");
        }
    }

    return Job{
        [reference = c.reference, hint = c.open_hint, inspection_id = *inspection_id,
         reading = *reading, entered_value = *value, entered_unit = unit->value_or(""),
         point = point->value_or(""), method = method->value_or("field"), lab_sample = *lab_sample,
         water_temp = *water_temp,
         at = placement_of(c.fix)](store::WriteContext& ctx) -> Result<json::value> {
            auto inspection = open_inspection_for_write(ctx.db(), *hint, inspection_id);
            if (!inspection) return inspection.error();
            discharge::Judgement judgement;
            if (const config::Site* site = reference->find_site(inspection->site_id)) {
                judgement = discharge::judge(reading, reference->limits_for(*site), water_temp);
            } else {
                judgement.note = "site '" + inspection->site_id +
                                 "' is no longer in the site list; the reading is not judged";
            }
            // The record as measurement_kind() loads it back: the store hashes it as built, and
            // the reply carries it, so nothing is read back on this path.
            std::string id = random_uuid();
            json::object record{
                {"id", id},
                {"inspection_id", inspection->id},
                {"parameter", reading.parameter},
                {"value", stored_real(reading.value)},
                {"unit", reading.unit},
                {"entered_value", stored_real(entered_value)},
                {"entered_unit", entered_unit},
                {"sampling_point", point},
                {"method", method},
                {"lab_sample_id", opt(lab_sample)},
                {"water_temp_c", opt(stored_real(water_temp))},
                {"limit_min", opt(stored_real(judgement.limit_min))},
                {"limit_max", opt(stored_real(judgement.limit_max))},
                {"limit_source", judgement.limit_source},
                {"verdict", discharge::verdict_name(judgement.verdict)},
                {"exceedance_ratio", opt(stored_real(judgement.exceedance_ratio))},
                {"note", judgement.note},
                {"device_time_ms", ctx.now_ms()},
                {"gnss_time_ms", opt(at.gnss_time_ms)},
                {"lat", opt(stored_real(at.lat))},
                {"lon", opt(stored_real(at.lon))},
            };
            auto insert = ctx.db().prepare(
                "INSERT INTO measurements (id, inspection_id, parameter, value, unit, "
                "entered_value, entered_unit, sampling_point, method, lab_sample_id, "
                "water_temp_c, limit_min, limit_max, limit_source, verdict, exceedance_ratio, "
                "note, device_time_ms, gnss_time_ms, lat, lon, last_seq) VALUES (?1, ?2, ?3, ?4, "
                "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, "
                "?22)");
            if (!insert) return insert.error();
            (*insert)
                ->bind(1, id)
                .bind(2, inspection->id)
                .bind(3, reading.parameter)
                .bind(4, reading.value)
                .bind(5, reading.unit)
                .bind(6, entered_value)
                .bind(7, entered_unit)
                .bind(8, point)
                .bind(9, method)
                .bind(10, lab_sample)
                .bind(11, water_temp)
                .bind(12, judgement.limit_min)
                .bind(13, judgement.limit_max)
                .bind(14, judgement.limit_source)
                .bind(15, discharge::verdict_name(judgement.verdict))
                .bind(16, judgement.exceedance_ratio)
                .bind(17, judgement.note)
                .bind(18, ctx.now_ms())
                .bind(19, at.gnss_time_ms)
                .bind(20, at.lat)
                .bind(21, at.lon)
                .bind(22, ctx.next_seq());
            if (auto done = (*insert)->run(); !done) return done.error();
            if (auto seq = ctx.append(measurement_kind(), id, record, at.gnss_time_ms); !seq) {
                return seq.error();
            }
            return json::object{{"measurement", std::move(record)}};
        },
        nullptr};
}

Result<json::array> comparisons_for(store::Database& db, std::string_view inspection_id) {
    auto readings = query_records(
        db, measurement_kind(),
        "WHERE inspection_id = ?1 AND method IN ('field', 'online') ORDER BY last_seq",
        [&](store::Statement& s) { s.bind(1, inspection_id); });
    if (!readings) return readings.error();
    struct Pair {
        std::optional<double> field, online;
        std::string unit;
    };
    // Later readings replace earlier ones: the comparison is of the latest pair.
    std::map<std::pair<std::string, std::string>, Pair> pairs;
    for (const auto& r : *readings) {
        Pair& p = pairs[{std::string(r.at("parameter").as_string()),
                         std::string(r.at("sampling_point").as_string())}];
        p.unit = r.at("unit").as_string();
        (r.at("method").as_string() == "field" ? p.field : p.online) = r.at("value").as_double();
    }
    json::array out;
    for (const auto& [key, p] : pairs) {
        if (!p.field || !p.online) continue;
        auto cmp = discharge::compare_readings(*p.field, *p.online);
        out.push_back(json::object{{"parameter", key.first},
                                   {"sampling_point", key.second},
                                   {"unit", p.unit},
                                   {"field", cmp.field},
                                   {"online", cmp.online},
                                   {"difference", cmp.difference},
                                   {"relative_difference", opt(cmp.relative_difference)}});
    }
    return out;
}

Result<Job> measurement_list(const Context&, const json::object& args) {
    auto a = Args::check("measurement.list", args, {"inspection_id"});
    if (!a) return a.error();
    auto id = a->opt_text("inspection_id", 64);
    if (!id) return id.error();
    return Job{nullptr, [id = *id](store::Database& db) -> Result<json::value> {
                   auto inspection = resolve_inspection(db, id, false);
                   if (!inspection) return inspection.error();
                   std::string inspection_id(inspection->at("id").as_string());
                   auto found =
                       query_records(db, measurement_kind(),
                                     "WHERE inspection_id = ?1 ORDER BY device_time_ms, last_seq",
                                     [&](store::Statement& s) { s.bind(1, inspection_id); });
                   if (!found) return found.error();
                   auto comparisons = comparisons_for(db, inspection_id);
                   if (!comparisons) return comparisons.error();
                   json::array list;
                   for (auto& r : *found) list.push_back(std::move(r));
                   return json::object{{"inspection_id", inspection_id},
                                       {"measurements", std::move(list)},
                                       {"comparisons", std::move(*comparisons)}};
               }};
}

}  // namespace fieldlog::domain::ops
