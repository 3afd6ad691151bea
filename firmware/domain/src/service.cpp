#include "fieldlog/domain/service.hpp"

#include <boost/json/serialize.hpp>
#include <future>

#include "fieldlog/clock.hpp"
#include "fieldlog/config/reference_set.hpp"
#include "fieldlog/domain/reference_store.hpp"
#include "operations.hpp"

namespace fieldlog::domain {

namespace json = boost::json;

namespace ops {

json::value opt(const std::optional<std::string>& v) {
    return v ? json::value(*v) : json::value(nullptr);
}
json::value opt(const std::optional<double>& v) {
    return v ? json::value(*v) : json::value(nullptr);
}
json::value opt(const std::optional<std::int64_t>& v) {
    return v ? json::value(*v) : json::value(nullptr);
}

std::string json_text(const json::array& array) { return json::serialize(array); }

json::array to_array(const std::vector<std::string>& items) {
    json::array out;
    for (const auto& s : items) out.emplace_back(s);
    return out;
}

Error not_found(std::string_view what, std::string_view id) {
    return Error(Errc::not_found, std::string(what) + " '" + std::string(id) + "' does not exist");
}

Result<std::int64_t> count_rows(store::Database& db, std::string_view sql) {
    auto stmt = db.prepare(sql);
    if (!stmt) return stmt.error();
    auto row = (*stmt)->step();
    if (!row) return row.error();
    std::int64_t n = *row ? (*stmt)->int64(0) : 0;
    (*stmt)->reset();
    return n;
}

Result<json::object> require_record(store::Database& db, const store::RecordKind& kind,
                                    std::string_view id, std::string_view what) {
    auto record = load_record(db, kind, id);
    if (!record) return record.error();
    if (!*record) return not_found(what, id);
    return std::move(**record);
}

Result<std::optional<json::object>> open_inspection(store::Database& db) {
    auto found = query_records(db, inspection_kind(),
                               "WHERE status = 'open' ORDER BY started_ms DESC LIMIT 1", nullptr);
    if (!found) return found.error();
    if (found->empty()) return std::optional<json::object>();
    return std::optional(std::move(found->front()));
}

Result<Job> list_in_inspection(std::string_view op, const json::object& args,
                               const store::RecordKind& kind, std::string key) {
    auto a = Args::check(op, args, {"inspection_id"});
    if (!a) return a.error();
    auto id = a->opt_text("inspection_id", 64);
    if (!id) return id.error();
    return Job{
        nullptr,
        [id = *id, &kind, key = std::move(key)](store::Database& db) -> Result<json::value> {
            auto inspection = resolve_inspection(db, id, false);
            if (!inspection) return inspection.error();
            auto found = query_records(
                db, kind, "WHERE inspection_id = ?1 ORDER BY last_seq",
                [&](store::Statement& s) { s.bind(1, inspection->at("id").as_string()); });
            if (!found) return found.error();
            json::array list;
            for (auto& r : *found) list.push_back(std::move(r));
            return json::object{{"inspection_id", inspection->at("id")}, {key, std::move(list)}};
        }};
}

Result<json::object> resolve_inspection(store::Database& db, const std::optional<std::string>& id,
                                        bool must_be_open) {
    if (!id) {
        auto open = open_inspection(db);
        if (!open) return open.error();
        if (!*open) {
            return Error(Errc::conflict,
                         "no inspection is open: start one with 'fieldlog inspection start' or "
                         "name one with --inspection");
        }
        return std::move(**open);
    }
    auto found = require_record(db, inspection_kind(), *id, "inspection");
    if (!found) return found.error();
    if (must_be_open && found->at("status").as_string() != "open") {
        return Error(Errc::conflict, "inspection '" + *id + "' is closed");
    }
    return found;
}

Result<OpenInspectionRef> open_inspection_for_write(store::Database& db, OpenInspectionHint& hint,
                                                    const std::optional<std::string>& id) {
    const std::string* wanted = id ? &*id : (hint.id.empty() ? nullptr : &hint.id);
    if (wanted != nullptr) {
        auto stmt = db.prepare("SELECT site_id, status FROM inspections WHERE id = ?1");
        if (!stmt) return stmt.error();
        (*stmt)->bind(1, *wanted);
        auto row = (*stmt)->step();
        if (!row) return row.error();
        std::optional<OpenInspectionRef> found;
        bool open = false;
        if (*row) {
            open = (*stmt)->text(1) == "open";
            found = OpenInspectionRef{*wanted, (*stmt)->text(0)};
        }
        (*stmt)->reset();
        if (found && open) return std::move(*found);
        if (id) {
            if (!found) return not_found("inspection", *id);
            return Error(Errc::conflict, "inspection '" + *id + "' is closed");
        }
    }
    auto inspection = resolve_inspection(db, std::nullopt, true);
    if (!inspection) {
        hint.id.clear();
        return inspection.error();
    }
    hint.id = inspection->at("id").as_string();
    return OpenInspectionRef{hint.id, std::string(inspection->at("site_id").as_string())};
}

Result<json::object> append_log(store::WriteContext& ctx, std::string_view level,
                                std::string_view event, std::string_view message,
                                std::size_t max_entries) {
    auto insert = ctx.db().prepare(
        "INSERT INTO device_log (time_ms, level, event, message, last_seq) VALUES (?1, ?2, ?3, "
        "?4, ?5) RETURNING id");
    if (!insert) return insert.error();
    (*insert)
        ->bind(1, ctx.now_ms())
        .bind(2, level)
        .bind(3, event)
        .bind(4, message)
        .bind(5, ctx.next_seq());
    auto row = (*insert)->step();
    if (!row) return row.error();
    std::int64_t id = (*insert)->int64(0);
    (*insert)->reset();
    auto seq = ctx.append(device_log_kind(), std::to_string(id), std::nullopt);
    if (!seq) return seq.error();
    // Retention keeps the newest entries; verify accepts the pruned prefix.
    auto prune = ctx.db().prepare("DELETE FROM device_log WHERE id <= ?1");
    if (!prune) return prune.error();
    (*prune)->bind(1, id - static_cast<std::int64_t>(max_entries));
    if (auto pruned = (*prune)->run(); !pruned) return pruned.error();
    auto record = require_record(ctx.db(), device_log_kind(), std::to_string(id), "log entry");
    return record;
}

namespace {

struct Entry {
    std::string_view name;
    Operation operation;
};

constexpr Entry operations[] = {
    {"status", &status},
    {"site.list", &site_list},
    {"site.show", &site_show},
    {"inspection.start", &inspection_start},
    {"inspection.close", &inspection_close},
    {"inspection.list", &inspection_list},
    {"inspection.show", &inspection_show},
    {"measurement.add", &measurement_add},
    {"measurement.list", &measurement_list},
    {"photo.add", &photo_add},
    {"photo.list", &photo_list},
    {"mark.add", &mark_add},
    {"mark.list", &mark_list},
    {"complaint.add", &complaint_add},
    {"complaint.forward", &complaint_forward},
    {"complaint.update", &complaint_update},
    {"complaint.list", &complaint_list},
    {"complaint.summary", &complaint_summary},
    {"document.add", &document_add},
    {"document.list", &document_list},
    {"document.summary", &document_summary},
    {"rectification.add", &rectification_add},
    {"rectification.verify", &rectification_verify},
    {"rectification.list", &rectification_list},
    {"verify", &verify},
    {"export", &export_records},
    {"logs", &logs},
    {"sync", &sync_now},
};

}  // namespace

const Operation* find_operation(std::string_view op) {
    for (const Entry& e : operations) {
        if (e.name == op) return &e.operation;
    }
    return nullptr;
}

}  // namespace ops

struct InspectionService::References {
    mutable std::mutex mutex;
    std::shared_ptr<const config::ReferenceData> config_files;
    std::shared_ptr<const config::ReferenceData> office;  // null until a version is held
    std::int64_t office_version = 0;

    std::shared_ptr<const config::ReferenceData> current() const {
        std::lock_guard lock(mutex);
        return office ? office : config_files;
    }
    void set_office(std::shared_ptr<const config::ReferenceData> data, std::int64_t version) {
        std::lock_guard lock(mutex);
        office = std::move(data);
        office_version = version;
    }
};

InspectionService::InspectionService(store::Store& store,
                                     std::shared_ptr<const config::ReferenceData> reference,
                                     ServiceOptions options)
    : store_(store),
      options_(std::move(options)),
      references_(std::make_shared<References>()),
      open_hint_(std::make_shared<ops::OpenInspectionHint>()) {
    references_->config_files = std::move(reference);
    if (!options_.wall_clock_ms) {
        options_.wall_clock_ms = [] { return SystemClock().wall_ms(); };
    }
    if (!options_.current_fix) {
        options_.current_fix = [] { return std::optional<Fix>(); };
    }
}

bool InspectionService::is_known_op(std::string_view op) {
    return ops::find_operation(op) != nullptr;
}

void InspectionService::replace_reference(std::shared_ptr<const config::ReferenceData> reference) {
    std::lock_guard lock(references_->mutex);
    references_->config_files = std::move(reference);
}

std::shared_ptr<const config::ReferenceData> InspectionService::reference() const {
    return references_->current();
}

std::int64_t InspectionService::office_reference_version() const {
    std::lock_guard lock(references_->mutex);
    return references_->office_version;
}

Status InspectionService::load_office_reference() {
    std::optional<StoredReference> stored;
    auto read = store_.read([&](store::Database& db) -> Result<json::value> {
        auto loaded = load_reference(db);
        if (!loaded) return loaded.error();
        stored = std::move(*loaded);
        return json::value();
    });
    if (!read) return Error(read.error()).context("reference data from the office");
    if (stored) {
        references_->set_office(
            std::make_shared<const config::ReferenceData>(std::move(stored->set.data)),
            stored->version.version);
    }
    return {};
}

void InspectionService::apply_reference_bundle(std::string body,
                                               std::function<void(Result<std::int64_t>)> done) {
    auto applied = std::make_shared<std::shared_ptr<const config::ReferenceData>>();
    auto version = std::make_shared<std::int64_t>(0);
    store_.submit_write(
        [body = std::move(body), device_id = store_.device_id(), applied, version,
         max = options_.device_log_max_entries](store::WriteContext& ctx) -> Result<json::value> {
            auto bundle = config::parse_reference_bundle(body);
            if (!bundle) return bundle.error();
            if (bundle->device_id != device_id) {
                return Error(Errc::invalid_argument, "reference bundle: it is for device '" +
                                                         bundle->device_id + "', not '" +
                                                         device_id + "'");
            }
            if (auto saved = save_reference(ctx.db(), *bundle, ctx.now_ms()); !saved) {
                return saved.error();
            }
            const auto& set = bundle->set;
            std::string message =
                "reference data version " + std::to_string(bundle->version) +
                " from the office applied: " + std::to_string(set.data.sites.size()) + " sites, " +
                std::to_string(set.data.standards.size()) + " standard classes, " +
                std::to_string(set.complaints.size()) + " assigned complaint cases (sha256 " +
                bundle->sha256 + ")";
            auto entry = ops::append_log(ctx, "info", "reference_applied", message, max);
            if (!entry) return entry.error();
            *version = bundle->version;
            *applied = std::make_shared<const config::ReferenceData>(std::move(bundle->set.data));
            return json::object{{"version", *version}};
        },
        [references = references_, sync = options_.sync, applied, version,
         done = std::move(done)](Result<json::value> result) {
            if (!result) {
                done(result.error());
                return;
            }
            // Durable here: requests from now on use the new version.
            references->set_office(*applied, *version);
            if (sync) sync->written();
            done(*version);
        });
}

void InspectionService::execute(std::string_view op, const json::object& args,
                                store::Store::Done done) {
    const ops::Operation* operation = ops::find_operation(op);
    if (operation == nullptr) {
        done(Error(Errc::invalid_argument, "unknown operation '" + std::string(op) + "'"));
        return;
    }
    ops::Context context{
        store_,    reference(), options_, options_.wall_clock_ms(), options_.current_fix(),
        open_hint_};
    Result<ops::Job> job = Error(Errc::internal, "operation did not run");
    try {
        job = (*operation)(context, args);
    } catch (const std::exception& e) {
        job = Error(Errc::internal, std::string(op) + ": unexpected failure: " + e.what());
    }
    if (!job) {
        done(job.error());
        return;
    }
    if (job->action) {
        job->action(std::move(done));
    } else if (job->write) {
        if (options_.sync) {
            // Every committed write is a reason to sync: the uploader batches them by age.
            done = [sync = options_.sync, done = std::move(done)](Result<json::value> result) {
                // The commit is durable here; the trigger goes before the reply.
                if (result) sync->written();
                done(std::move(result));
            };
        }
        store_.submit_write(std::move(job->write), std::move(done));
    } else if (op == "verify" || op == "export") {
        // The head is signed lazily (store.hpp): what verify checks, and the records an export
        // takes off the device, are covered by a signature from the moment they are shown.
        store_.submit_signed_read(std::move(job->read), std::move(done));
    } else {
        store_.submit_read(std::move(job->read), std::move(done));
    }
}

Result<json::value> InspectionService::execute_sync(std::string_view op, const json::object& args) {
    std::promise<Result<json::value>> promise;
    auto future = promise.get_future();
    execute(op, args, [&](Result<json::value> r) { promise.set_value(std::move(r)); });
    return future.get();
}

void InspectionService::log(std::string_view level, std::string_view event,
                            std::string_view message, std::function<void(const Error&)> on_error) {
    store_.submit_write(
        [level = std::string(level), event = std::string(event), message = std::string(message),
         max = options_.device_log_max_entries](store::WriteContext& ctx) -> Result<json::value> {
            auto entry = ops::append_log(ctx, level, event, message, max);
            if (!entry) return entry.error();
            return json::value(std::move(*entry));
        },
        [on_error = std::move(on_error)](Result<json::value> result) {
            if (!result && on_error) on_error(result.error());
        });
}

}  // namespace fieldlog::domain
