// Internal: what every operation gets, and the helpers operations share.
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>

#include "fieldlog/domain/args.hpp"
#include "fieldlog/domain/records.hpp"
#include "fieldlog/domain/service.hpp"

namespace fieldlog::domain::ops {

namespace json = boost::json;

// The id of the inspection that was open when a write last looked for it, so that a stream
// of readings does not search for the open inspection on every write. Only a hint: each use
// confirms by key that it is still open, so a stale one (a rollback, a close through another
// service on the same store) costs the full search, never a wrong answer. Touched only by
// jobs, on the store thread.
struct OpenInspectionHint {
    std::string id;
};

struct Context {
    store::Store& store;
    std::shared_ptr<const config::ReferenceData> reference;
    const ServiceOptions& options;
    std::int64_t now_ms;
    std::optional<Fix> fix;
    std::shared_ptr<OpenInspectionHint> open_hint;
};

// Exactly one of write, read and action is set. An action runs outside the store (on the
// caller's thread) and calls done itself, once.
struct Job {
    using Action = std::function<void(store::Store::Done done)>;

    Job() = default;
    Job(store::Store::WriteJob w, store::Store::ReadJob r)
        : write(std::move(w)), read(std::move(r)) {}
    static Job act(Action a) {
        Job job;
        job.action = std::move(a);
        return job;
    }

    store::Store::WriteJob write;
    store::Store::ReadJob read;
    Action action;
};

using Operation = Result<Job> (*)(const Context&, const json::object& args);

// Registered operations, by protocol name.
const Operation* find_operation(std::string_view op);

// Helpers shared by the operations.
json::value opt(const std::optional<std::string>& v);
json::value opt(const std::optional<double>& v);
json::value opt(const std::optional<std::int64_t>& v);
std::string json_text(const json::array& array);
json::array to_array(const std::vector<std::string>& items);

// The inspection a request names, or the open one when it names none.
[[nodiscard]] Result<json::object> resolve_inspection(store::Database& db,
                                                      const std::optional<std::string>& id,
                                                      bool must_be_open);
[[nodiscard]] Result<std::optional<json::object>> open_inspection(store::Database& db);

// What a write into an open inspection needs of it: resolve_inspection(db, id, true) without
// loading the whole record.
struct OpenInspectionRef {
    std::string id;
    std::string site_id;
};
[[nodiscard]] Result<OpenInspectionRef> open_inspection_for_write(
    store::Database& db, OpenInspectionHint& hint, const std::optional<std::string>& id);

// A REAL column reads back -0.0 as 0.0 (SQLite stores a whole-numbered real as an integer);
// records built by a job hash what verify will load.
inline double stored_real(double value) { return value == 0.0 ? 0.0 : value; }
inline std::optional<double> stored_real(std::optional<double> value) {
    return value ? std::optional(stored_real(*value)) : std::nullopt;
}
[[nodiscard]] Result<json::object> require_record(store::Database& db,
                                                  const store::RecordKind& kind,
                                                  std::string_view id, std::string_view what);
[[nodiscard]] Result<std::int64_t> count_rows(store::Database& db, std::string_view sql);

// A read job listing one kind's records in the inspection args name (or the open one), oldest
// first: {"inspection_id": ..., key: [...]}. For the op.list requests that take only that.
[[nodiscard]] Result<Job> list_in_inspection(std::string_view op, const json::object& args,
                                             const store::RecordKind& kind, std::string key);

Error not_found(std::string_view what, std::string_view id);

// Operation entry points, one per protocol op.
Result<Job> status(const Context&, const json::object&);
Result<Job> site_list(const Context&, const json::object&);
Result<Job> site_show(const Context&, const json::object&);
Result<Job> inspection_start(const Context&, const json::object&);
Result<Job> inspection_close(const Context&, const json::object&);
Result<Job> inspection_list(const Context&, const json::object&);
Result<Job> inspection_show(const Context&, const json::object&);
Result<Job> measurement_add(const Context&, const json::object&);
Result<Job> measurement_list(const Context&, const json::object&);
Result<Job> photo_add(const Context&, const json::object&);
Result<Job> photo_list(const Context&, const json::object&);
Result<Job> complaint_add(const Context&, const json::object&);
Result<Job> complaint_forward(const Context&, const json::object&);
Result<Job> complaint_update(const Context&, const json::object&);
Result<Job> complaint_list(const Context&, const json::object&);
Result<Job> complaint_summary(const Context&, const json::object&);
Result<Job> document_add(const Context&, const json::object&);
Result<Job> document_list(const Context&, const json::object&);
Result<Job> document_summary(const Context&, const json::object&);
Result<Job> rectification_add(const Context&, const json::object&);
Result<Job> rectification_verify(const Context&, const json::object&);
Result<Job> rectification_list(const Context&, const json::object&);
Result<Job> verify(const Context&, const json::object&);
Result<Job> export_records(const Context&, const json::object&);
Result<Job> logs(const Context&, const json::object&);
Result<Job> sync_now(const Context&, const json::object&);
Result<Job> mark_add(const Context&, const json::object&);
Result<Job> mark_list(const Context&, const json::object&);

// Measurement comparisons for one inspection (field against online monitor).
[[nodiscard]] Result<json::array> comparisons_for(store::Database& db,
                                                  std::string_view inspection_id);
// Adds the derived fields replies carry (forward_late, overdue).
json::object with_complaint_flags(json::object complaint, std::int64_t now_ms);
json::object with_rectification_flags(json::object rectification, std::int64_t now_ms);

// Appends a device-log record inside the current write job.
[[nodiscard]] Result<json::object> append_log(store::WriteContext& ctx, std::string_view level,
                                              std::string_view event, std::string_view message,
                                              std::size_t max_entries);

}  // namespace fieldlog::domain::ops
