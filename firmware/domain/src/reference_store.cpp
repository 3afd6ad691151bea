#include "fieldlog/domain/reference_store.hpp"

#include <map>
#include <string>
#include <vector>

namespace fieldlog::domain {

namespace {

using store::Database;
using store::Statement;

// Steps a prepared statement through its rows, resetting it however the loop ends.
template <class Row>
Status for_each_row(Statement& stmt, Row&& row) {
    for (;;) {
        auto more = stmt.step();
        if (!more) {
            stmt.reset();
            return more.error();
        }
        if (!*more) break;
        if (auto ok = row(stmt); !ok) {
            stmt.reset();
            return ok;
        }
    }
    stmt.reset();
    return {};
}

Status run(Database& db, std::string_view sql) {
    auto stmt = db.prepare(sql);
    if (!stmt) return stmt.error();
    return (*stmt)->run();
}

Status insert_rules(Database& db, std::string_view owner, const std::string& owner_id,
                    const std::vector<discharge::LimitRule>& rules) {
    auto insert = db.prepare(
        "INSERT INTO reference_limits (owner, owner_id, position, parameter, min, max, max_cold, "
        "built_from_ms, built_before_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!insert) return insert.error();
    std::int64_t position = 0;
    for (const auto& rule : rules) {
        // run() leaves a statement done, not reset; a reused one must be reset first.
        (*insert)
            ->reset()
            .bind(1, owner)
            .bind(2, owner_id)
            .bind(3, position++)
            .bind(4, rule.parameter)
            .bind(5, rule.min)
            .bind(6, rule.max)
            .bind(7, rule.max_cold)
            .bind(8, rule.built_from_ms)
            .bind(9, rule.built_before_ms);
        if (auto done = (*insert)->run(); !done) return done;
    }
    return {};
}

Statement& bind_text_or_null(Statement& stmt, int index, const std::string& text) {
    return text.empty() ? stmt.bind_null(index) : stmt.bind(index, text);
}

Result<std::map<std::string, std::vector<discharge::LimitRule>>> load_rules(
    Database& db, std::string_view owner) {
    auto stmt = db.prepare(
        "SELECT owner_id, parameter, min, max, max_cold, built_from_ms, built_before_ms FROM "
        "reference_limits WHERE owner = ?1 ORDER BY owner_id, position");
    if (!stmt) return stmt.error();
    (*stmt)->bind(1, owner);
    std::map<std::string, std::vector<discharge::LimitRule>> out;
    auto done = for_each_row(**stmt, [&](Statement& s) -> Status {
        discharge::LimitRule rule;
        rule.parameter = s.text(1);
        rule.min = s.opt_real(2);
        rule.max = s.opt_real(3);
        rule.max_cold = s.opt_real(4);
        rule.built_from_ms = s.opt_int64(5);
        rule.built_before_ms = s.opt_int64(6);
        out[s.text(0)].push_back(std::move(rule));
        return {};
    });
    if (!done) return done.error();
    return out;
}

config::AssignedComplaint complaint_from(Statement& s) {
    config::AssignedComplaint c;
    c.case_number = s.text(0);
    c.batch_number = s.int64(1);
    c.summary = s.text(2);
    c.received_ms = s.opt_int64(3);
    c.responsible_unit = s.text(4);
    c.site_id = s.opt_text(5).value_or("");
    return c;
}

constexpr std::string_view complaint_columns =
    "SELECT case_number, batch_number, summary, received_ms, responsible_unit, site_id FROM "
    "reference_complaints ";

}  // namespace

Result<std::optional<StoredReferenceVersion>> stored_reference_version(Database& db) {
    auto stmt = db.prepare(
        "SELECT version, sha256, published_ms, applied_ms FROM reference_version WHERE id = 1");
    if (!stmt) return stmt.error();
    std::optional<StoredReferenceVersion> out;
    auto done = for_each_row(**stmt, [&](Statement& s) -> Status {
        out = StoredReferenceVersion{s.int64(0), s.text(1), s.int64(2), s.int64(3)};
        return {};
    });
    if (!done) return done.error();
    return out;
}

Status save_reference(Database& db, const config::ReferenceBundle& bundle,
                      std::int64_t applied_ms) {
    auto held = stored_reference_version(db);
    if (!held) return held.error();
    if (*held && bundle.version <= (*held)->version) {
        return Error(Errc::conflict, "reference data version " + std::to_string(bundle.version) +
                                         " is not newer than version " +
                                         std::to_string((*held)->version) +
                                         " that the device holds");
    }
    // Children before parents: the sites refer to the standards, the cases to the sites.
    for (std::string_view sql :
         {"DELETE FROM reference_complaints", "DELETE FROM reference_limits",
          "DELETE FROM reference_sites", "DELETE FROM reference_standards"}) {
        if (auto done = run(db, sql); !done) return done;
    }
    const config::ReferenceData& data = bundle.set.data;
    auto standard = db.prepare("INSERT INTO reference_standards (id, title) VALUES (?1, ?2)");
    if (!standard) return standard.error();
    for (const auto& [id, s] : data.standards) {
        (*standard)->reset().bind(1, id).bind(2, s.title);
        if (auto done = (*standard)->run(); !done) return done;
        if (auto done = insert_rules(db, "standard", id, s.rules); !done) return done;
    }
    auto site = db.prepare(
        "INSERT INTO reference_sites (id, name, kind, address, lat, lon, permit_number, "
        "standard_id, built_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!site) return site.error();
    for (const auto& [id, s] : data.sites) {
        (*site)
            ->reset()
            .bind(1, id)
            .bind(2, s.name)
            .bind(3, config::site_kind_name(s.kind))
            .bind(4, s.address)
            .bind(5, s.lat)
            .bind(6, s.lon)
            .bind(7, s.permit_number);
        bind_text_or_null(**site, 8, s.standard_id).bind(9, s.built_ms);
        if (auto done = (*site)->run(); !done) return done;
        if (auto done = insert_rules(db, "site", id, s.permit_rules); !done) return done;
    }
    auto complaint = db.prepare(
        "INSERT INTO reference_complaints (case_number, batch_number, summary, received_ms, "
        "responsible_unit, site_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!complaint) return complaint.error();
    for (const auto& c : bundle.set.complaints) {
        (*complaint)
            ->reset()
            .bind(1, c.case_number)
            .bind(2, c.batch_number)
            .bind(3, c.summary)
            .bind(4, c.received_ms)
            .bind(5, c.responsible_unit);
        bind_text_or_null(**complaint, 6, c.site_id);
        if (auto done = (*complaint)->run(); !done) return done;
    }
    auto version = db.prepare(
        "INSERT INTO reference_version (id, version, sha256, published_ms, applied_ms) VALUES "
        "(1, ?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET version = excluded.version, sha256 = "
        "excluded.sha256, published_ms = excluded.published_ms, applied_ms = "
        "excluded.applied_ms");
    if (!version) return version.error();
    (*version)
        ->bind(1, bundle.version)
        .bind(2, bundle.sha256)
        .bind(3, bundle.published_ms)
        .bind(4, applied_ms);
    return (*version)->run();
}

Result<std::optional<StoredReference>> load_reference(Database& db) {
    auto version = stored_reference_version(db);
    if (!version) return version.error();
    if (!*version) return std::optional<StoredReference>();
    StoredReference out;
    out.version = **version;

    auto standard_rules = load_rules(db, "standard");
    if (!standard_rules) return standard_rules.error();
    auto site_rules = load_rules(db, "site");
    if (!site_rules) return site_rules.error();

    auto standards = db.prepare("SELECT id, title FROM reference_standards ORDER BY id");
    if (!standards) return standards.error();
    auto done = for_each_row(**standards, [&](Statement& s) -> Status {
        discharge::StandardClass standard{s.text(0), s.text(1), {}};
        if (auto it = standard_rules->find(standard.id); it != standard_rules->end()) {
            standard.rules = std::move(it->second);
        }
        std::string id = standard.id;
        out.set.data.standards.emplace(std::move(id), std::move(standard));
        return {};
    });
    if (!done) return done.error();

    auto sites = db.prepare(
        "SELECT id, name, kind, address, lat, lon, permit_number, standard_id, built_ms FROM "
        "reference_sites ORDER BY id");
    if (!sites) return sites.error();
    done = for_each_row(**sites, [&](Statement& s) -> Status {
        config::Site site;
        site.id = s.text(0);
        site.name = s.text(1);
        auto kind = config::parse_site_kind(s.text(2));
        if (!kind) {
            return Error(Errc::corrupt, "reference site '" + site.id + "' has an unknown kind '" +
                                            s.text(2) + "'");
        }
        site.kind = *kind;
        site.address = s.text(3);
        site.lat = s.opt_real(4);
        site.lon = s.opt_real(5);
        site.permit_number = s.text(6);
        site.standard_id = s.opt_text(7).value_or("");
        site.built_ms = s.opt_int64(8);
        if (auto it = site_rules->find(site.id); it != site_rules->end()) {
            site.permit_rules = std::move(it->second);
        }
        std::string id = site.id;
        out.set.data.sites.emplace(std::move(id), std::move(site));
        return {};
    });
    if (!done) return done.error();

    static const std::string all_complaints =
        std::string(complaint_columns) + "ORDER BY case_number";
    auto complaints = db.prepare(all_complaints);
    if (!complaints) return complaints.error();
    done = for_each_row(**complaints, [&](Statement& s) -> Status {
        out.set.complaints.push_back(complaint_from(s));
        return {};
    });
    if (!done) return done.error();
    return std::optional<StoredReference>(std::move(out));
}

Result<std::optional<config::AssignedComplaint>> assigned_complaint(Database& db,
                                                                    std::string_view case_number) {
    static const std::string one = std::string(complaint_columns) + "WHERE case_number = ?1";
    auto stmt = db.prepare(one);
    if (!stmt) return stmt.error();
    (*stmt)->bind(1, case_number);
    std::optional<config::AssignedComplaint> out;
    auto done = for_each_row(**stmt, [&](Statement& s) -> Status {
        out = complaint_from(s);
        return {};
    });
    if (!done) return done.error();
    return out;
}

}  // namespace fieldlog::domain
