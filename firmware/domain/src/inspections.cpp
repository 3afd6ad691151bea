// Site visits: start, close, list and show; and the sites they are made at.
#include <array>

#include "fieldlog/digest.hpp"
#include "fieldlog/discharge/parameters.hpp"
#include "operations.hpp"
#include "placement.hpp"

namespace fieldlog::domain::ops {

namespace {

constexpr std::array<std::string_view, 6> inspection_kinds{
    "wastewater_discharge", "solid_waste_yard",       "hazardous_waste_store",
    "waste_salt_disposal",  "complaint_verification", "rectification_follow_up"};

json::object site_json(const config::Site& site) {
    return {{"id", site.id},
            {"name", site.name},
            {"kind", config::site_kind_name(site.kind)},
            {"standard_id", site.standard_id},
            {"permit_number", site.permit_number},
            {"address", site.address},
            {"lat", opt(site.lat)},
            {"lon", opt(site.lon)}};
}

json::object rule_json(const discharge::LimitRule& rule, std::string_view source) {
    const discharge::ParameterInfo* info = discharge::find_parameter(rule.parameter);
    return {{"parameter", rule.parameter},
            {"min", opt(rule.min)},
            {"max", opt(rule.max)},
            {"max_cold", opt(rule.max_cold)},
            {"unit", info != nullptr ? std::string(info->canonical_unit) : std::string()},
            {"built_from_ms", opt(rule.built_from_ms)},
            {"built_before_ms", opt(rule.built_before_ms)},
            {"source", source}};
}

Status check_coordinates(const Args& args, std::optional<double> lat, std::optional<double> lon) {
    if (lat.has_value() != lon.has_value()) {
        return args.error(lat ? "lon" : "lat", "lat and lon go together");
    }
    if (lat && (*lat < -90 || *lat > 90)) return args.error("lat", "must be within -90 to 90");
    if (lon && (*lon < -180 || *lon > 180)) return args.error("lon", "must be within -180 to 180");
    return {};
}

}  // namespace

Result<Job> site_list(const Context& c, const json::object& args) {
    auto checked = Args::check("site.list", args, {});
    if (!checked) return checked.error();
    json::array sites;
    for (const auto& [id, site] : c.reference->sites) sites.push_back(site_json(site));
    return Job{nullptr, [sites = std::move(sites)](store::Database&) -> Result<json::value> {
                   return json::object{{"sites", sites}};
               }};
}

Result<Job> site_show(const Context& c, const json::object& args) {
    auto a = Args::check("site.show", args, {"site_id"});
    if (!a) return a.error();
    auto id = a->text("site_id", 64);
    if (!id) return id.error();
    const config::Site* site = c.reference->find_site(*id);
    if (site == nullptr) return not_found("site", *id);
    json::object out = site_json(*site);
    json::array limits;
    for (const auto& rule : site->permit_rules) {
        limits.push_back(rule_json(rule, "permit " + site->permit_number));
    }
    if (const auto* standard = c.reference->find_standard(site->standard_id)) {
        for (const auto& rule : standard->rules) limits.push_back(rule_json(rule, standard->id));
    }
    out["limits"] = std::move(limits);
    return Job{nullptr, [out = std::move(out)](store::Database&) -> Result<json::value> {
                   return json::object{{"site", out}};
               }};
}

Result<Job> inspection_start(const Context& c, const json::object& args) {
    auto a = Args::check("inspection.start", args,
                         {"site_id", "kind", "inspectors", "notes", "lat", "lon"});
    if (!a) return a.error();
    auto site_id = a->text("site_id", 64);
    if (!site_id) return site_id.error();
    const config::Site* site = c.reference->find_site(*site_id);
    if (site == nullptr) {
        return Error(Errc::not_found, "inspection.start: site '" + *site_id +
                                          "' is not in the site list (see 'fieldlog site list')");
    }
    auto kind = a->opt_choice("kind", inspection_kinds);
    if (!kind) return kind.error();
    if (!*kind) return a->error("kind", "required");
    auto inspectors = a->text_list("inspectors", 16, 64);
    if (!inspectors) return inspectors.error();
    if (inspectors->empty()) return a->error("inspectors", "name at least one inspector");
    auto notes = a->opt_text("notes", 4000);
    if (!notes) return notes.error();
    auto lat = a->opt_number("lat");
    if (!lat) return lat.error();
    auto lon = a->opt_number("lon");
    if (!lon) return lon.error();
    if (auto ok = check_coordinates(*a, *lat, *lon); !ok) return ok.error();

    // A position the inspector typed wins over the receiver's; the GNSS time still comes from
    // the fix, as it dates the record rather than places it.
    Placement at = placement_of(c.fix);
    if (*lat) {
        at.lat = *lat;
        at.lon = *lon;
    }
    return Job{[site_id = *site_id, site_name = site->name, kind = **kind,
                inspectors = json_text(to_array(*inspectors)), notes = notes->value_or(""),
                at](store::WriteContext& ctx) -> Result<json::value> {
                   auto open = open_inspection(ctx.db());
                   if (!open) return open.error();
                   if (*open) {
                       return Error(Errc::conflict,
                                    "inspection '" + std::string((**open).at("id").as_string()) +
                                        "' at " +
                                        std::string((**open).at("site_name").as_string()) +
                                        " is still open: close it first");
                   }
                   std::string id = random_uuid();
                   auto insert = ctx.db().prepare(
                       "INSERT INTO inspections (id, site_id, site_name, kind, inspectors, status, "
                       "started_ms, closed_ms, gnss_time_ms, lat, lon, notes, verdict, last_seq) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6, NULL, ?7, ?8, ?9, ?10, '', ?11)");
                   if (!insert) return insert.error();
                   (*insert)
                       ->bind(1, id)
                       .bind(2, site_id)
                       .bind(3, site_name)
                       .bind(4, kind)
                       .bind(5, inspectors)
                       .bind(6, ctx.now_ms())
                       .bind(7, at.gnss_time_ms)
                       .bind(8, at.lat)
                       .bind(9, at.lon)
                       .bind(10, notes)
                       .bind(11, ctx.next_seq());
                   if (auto done = (*insert)->run(); !done) return done.error();
                   if (auto seq = ctx.append(inspection_kind(), id, at.gnss_time_ms); !seq) {
                       return seq.error();
                   }
                   auto record = require_record(ctx.db(), inspection_kind(), id, "inspection");
                   if (!record) return record.error();
                   return json::object{{"inspection", std::move(*record)}};
               },
               nullptr};
}

Result<Job> inspection_close(const Context&, const json::object& args) {
    auto a = Args::check("inspection.close", args, {"inspection_id", "verdict", "notes"});
    if (!a) return a.error();
    auto id = a->opt_text("inspection_id", 64);
    if (!id) return id.error();
    auto verdict = a->opt_text("verdict", 2000);
    if (!verdict) return verdict.error();
    auto notes = a->opt_text("notes", 4000);
    if (!notes) return notes.error();
    return Job{
        [id = *id, verdict = *verdict,
         notes = *notes](store::WriteContext& ctx) -> Result<json::value> {
            auto inspection = resolve_inspection(ctx.db(), id, true);
            if (!inspection) return inspection.error();
            std::string inspection_id(inspection->at("id").as_string());
            auto update = ctx.db().prepare(
                "UPDATE inspections SET status = 'closed', closed_ms = ?1, verdict = "
                "COALESCE(?2, verdict), notes = COALESCE(?3, notes), last_seq = ?4 WHERE "
                "id = ?5");
            if (!update) return update.error();
            (*update)
                ->bind(1, ctx.now_ms())
                .bind(2, verdict)
                .bind(3, notes)
                .bind(4, ctx.next_seq())
                .bind(5, inspection_id);
            if (auto done = (*update)->run(); !done) return done.error();
            if (auto seq = ctx.append(inspection_kind(), inspection_id, std::nullopt); !seq) {
                return seq.error();
            }
            auto record = require_record(ctx.db(), inspection_kind(), inspection_id, "inspection");
            if (!record) return record.error();
            return json::object{{"inspection", std::move(*record)}};
        },
        nullptr};
}

Result<Job> inspection_list(const Context&, const json::object& args) {
    auto a = Args::check("inspection.list", args, {"from_ms", "to_ms", "site_id", "limit"});
    if (!a) return a.error();
    auto from = a->opt_integer("from_ms");
    if (!from) return from.error();
    auto to = a->opt_integer("to_ms");
    if (!to) return to.error();
    auto site = a->opt_text("site_id", 64);
    if (!site) return site.error();
    auto limit = a->opt_integer("limit");
    if (!limit) return limit.error();
    if (*limit && (**limit < 1 || **limit > 100000)) {
        return a->error("limit", "must be within 1 to 100000");
    }
    return Job{nullptr,
               [from = from->value_or(INT64_MIN), to = to->value_or(INT64_MAX), site = *site,
                limit = limit->value_or(1000)](store::Database& db) -> Result<json::value> {
                   auto found = query_records(
                       db, inspection_kind(),
                       "WHERE started_ms >= ?1 AND started_ms <= ?2 AND (?3 IS NULL OR site_id = "
                       "?3) ORDER BY started_ms DESC LIMIT ?4",
                       [&](store::Statement& s) {
                           s.bind(1, from).bind(2, to).bind(3, site).bind(4, limit);
                       });
                   if (!found) return found.error();
                   json::array list;
                   for (auto& r : *found) list.push_back(std::move(r));
                   return json::object{{"inspections", std::move(list)}};
               }};
}

Result<Job> inspection_show(const Context& c, const json::object& args) {
    auto a = Args::check("inspection.show", args, {"inspection_id"});
    if (!a) return a.error();
    auto id = a->text("inspection_id", 64);
    if (!id) return id.error();
    return Job{nullptr, [id = *id, now = c.now_ms](store::Database& db) -> Result<json::value> {
                   auto inspection = require_record(db, inspection_kind(), id, "inspection");
                   if (!inspection) return inspection.error();
                   json::object out{{"inspection", std::move(*inspection)}};
                   auto bind_id = [&](store::Statement& s) { s.bind(1, id); };
                   auto measurements = query_records(
                       db, measurement_kind(),
                       "WHERE inspection_id = ?1 ORDER BY device_time_ms, last_seq", bind_id);
                   if (!measurements) return measurements.error();
                   auto photos = query_records(
                       db, photo_kind(), "WHERE inspection_id = ?1 ORDER BY last_seq", bind_id);
                   if (!photos) return photos.error();
                   // As mark.list returns them, so a client needs no second request for them.
                   auto marks = query_records(
                       db, mark_kind(), "WHERE inspection_id = ?1 ORDER BY last_seq", bind_id);
                   if (!marks) return marks.error();
                   auto rectifications = query_records(
                       db, rectification_kind(),
                       "WHERE inspection_id = ?1 OR verified_inspection_id = ?1 ORDER BY "
                       "deadline_ms",
                       bind_id);
                   if (!rectifications) return rectifications.error();
                   auto comparisons = comparisons_for(db, id);
                   if (!comparisons) return comparisons.error();
                   json::array m, p, k, r;
                   for (auto& x : *measurements) m.push_back(std::move(x));
                   for (auto& x : *photos) p.push_back(std::move(x));
                   for (auto& x : *marks) k.push_back(std::move(x));
                   for (auto& x : *rectifications) {
                       r.push_back(with_rectification_flags(std::move(x), now));
                   }
                   out["measurements"] = std::move(m);
                   out["comparisons"] = std::move(*comparisons);
                   out["photos"] = std::move(p);
                   out["marks"] = std::move(k);
                   out["rectifications"] = std::move(r);
                   return out;
               }};
}

}  // namespace fieldlog::domain::ops
