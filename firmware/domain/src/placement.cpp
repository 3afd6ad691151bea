#include "placement.hpp"

#include "operations.hpp"

namespace fieldlog::domain::ops {

Placement placement_of(const std::optional<Fix>& fix) {
    if (!fix) return {};
    return Placement{fix->lat, fix->lon, fix->gnss_time_ms};
}

Result<json::object> inspection_for_record(store::Database& db, std::string_view op,
                                           const std::optional<std::string>& id,
                                           NamedInspection named) {
    if (id) {
        auto inspection = resolve_inspection(db, id, true);
        if (!inspection) return Error(inspection.error()).context(std::string(op));
        return inspection;
    }
    auto open = open_inspection(db);
    if (!open) return open.error();
    if (!*open) {
        std::string hint = named == NamedInspection::allowed
                               ? "start one with 'fieldlog inspection start' or name one with "
                                 "--inspection"
                               : "start one with 'fieldlog inspection start'";
        return Error(Errc::conflict, std::string(op) + ": no inspection is open: " + hint);
    }
    return std::move(**open);
}

}  // namespace fieldlog::domain::ops
