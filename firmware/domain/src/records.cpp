#include "fieldlog/domain/records.hpp"

#include <array>
#include <boost/json/parse.hpp>
#include <span>

namespace fieldlog::domain {

namespace json = boost::json;

namespace {

enum class Col { text, opt_text, int64, opt_int64, real, opt_real, json_array };

struct Column {
    std::string_view name;
    Col type;
};

// Columns in the order the protocol lists them; the first is the record's key.
constexpr std::array inspection_columns{
    Column{"id", Col::text},
    Column{"site_id", Col::text},
    Column{"site_name", Col::text},
    Column{"kind", Col::text},
    Column{"inspectors", Col::json_array},
    Column{"status", Col::text},
    Column{"started_ms", Col::int64},
    Column{"closed_ms", Col::opt_int64},
    Column{"gnss_time_ms", Col::opt_int64},
    Column{"lat", Col::opt_real},
    Column{"lon", Col::opt_real},
    Column{"notes", Col::text},
    Column{"verdict", Col::text},
};

constexpr std::array measurement_columns{
    Column{"id", Col::text},
    Column{"inspection_id", Col::text},
    Column{"parameter", Col::text},
    Column{"value", Col::real},
    Column{"unit", Col::text},
    Column{"entered_value", Col::real},
    Column{"entered_unit", Col::text},
    Column{"sampling_point", Col::text},
    Column{"method", Col::text},
    Column{"lab_sample_id", Col::opt_text},
    Column{"water_temp_c", Col::opt_real},
    Column{"limit_min", Col::opt_real},
    Column{"limit_max", Col::opt_real},
    Column{"limit_source", Col::text},
    Column{"verdict", Col::text},
    Column{"exceedance_ratio", Col::opt_real},
    Column{"note", Col::text},
    Column{"device_time_ms", Col::int64},
    Column{"gnss_time_ms", Col::opt_int64},
    Column{"lat", Col::opt_real},
    Column{"lon", Col::opt_real},
};

constexpr std::array photo_columns{
    Column{"id", Col::text},
    Column{"inspection_id", Col::text},
    Column{"sha256", Col::text},
    Column{"size", Col::int64},
    Column{"original_name", Col::text},
    Column{"caption", Col::text},
    Column{"tags", Col::json_array},
    Column{"capture_time_ms", Col::opt_int64},
    Column{"capture_time_text", Col::opt_text},
    Column{"exif_lat", Col::opt_real},
    Column{"exif_lon", Col::opt_real},
    Column{"exif_altitude_m", Col::opt_real},
    Column{"width", Col::opt_int64},
    Column{"height", Col::opt_int64},
    Column{"warnings", Col::json_array},
    Column{"device_time_ms", Col::int64},
    Column{"gnss_time_ms", Col::opt_int64},
    Column{"lat", Col::opt_real},
    Column{"lon", Col::opt_real},
};

constexpr std::array complaint_columns{
    Column{"case_number", Col::text},
    Column{"batch_number", Col::int64},
    Column{"summary", Col::text},
    Column{"received_ms", Col::int64},
    Column{"forwarded_ms", Col::opt_int64},
    Column{"responsible_unit", Col::text},
    Column{"status", Col::text},
    Column{"finding", Col::opt_text},
    Column{"inspection_ids", Col::json_array},
    Column{"notes", Col::text},
    Column{"device_time_ms", Col::int64},
};

constexpr std::array document_batch_columns{
    Column{"batch_number", Col::int64},   Column{"items", Col::int64},
    Column{"documents", Col::int64},      Column{"topics", Col::json_array},
    Column{"handed_over_ms", Col::int64}, Column{"notes", Col::text},
    Column{"device_time_ms", Col::int64},
};

constexpr std::array rectification_columns{
    Column{"id", Col::text},
    Column{"problem", Col::text},
    Column{"inspection_id", Col::text},
    Column{"responsible_party", Col::text},
    Column{"deadline_ms", Col::int64},
    Column{"status", Col::text},
    Column{"verified_inspection_id", Col::opt_text},
    Column{"verified_ms", Col::opt_int64},
    Column{"notes", Col::text},
    Column{"device_time_ms", Col::int64},
};

constexpr std::array device_log_columns{
    Column{"id", Col::int64},   Column{"time_ms", Col::int64}, Column{"level", Col::text},
    Column{"event", Col::text}, Column{"message", Col::text},
};

constexpr std::array mark_columns{
    Column{"id", Col::text},
    Column{"inspection_id", Col::text},
    Column{"label", Col::text},
    Column{"source", Col::text},
    Column{"device_time_ms", Col::int64},
    Column{"gnss_time_ms", Col::opt_int64},
    Column{"lat", Col::opt_real},
    Column{"lon", Col::opt_real},
};

json::value column_value(const store::Statement& s, int i, Col type) {
    if (s.is_null(i) && type != Col::text && type != Col::int64 && type != Col::real) {
        return nullptr;
    }
    switch (type) {
        case Col::text:
        case Col::opt_text:
            return json::value(s.text(i));
        case Col::int64:
        case Col::opt_int64:
            return json::value(s.int64(i));
        case Col::real:
        case Col::opt_real:
            return json::value(s.real(i));
        case Col::json_array: {
            std::string text = s.text(i);
            boost::system::error_code ec;
            json::value parsed = json::parse(text, ec);
            // A stored value that is not a JSON array can only come from tampering; keep the
            // raw text so its hash differs and verify names the record.
            if (ec || !parsed.is_array()) {
                return json::value(text);
            }
            return parsed;
        }
    }
    return nullptr;
}

std::string select_list(std::span<const Column> columns) {
    std::string out;
    for (const Column& c : columns) {
        if (!out.empty()) out += ", ";
        out += c.name;
    }
    return out;
}

struct KindTable {
    store::RecordKind kind;
    std::span<const Column> columns;
    std::string table;
    std::string select_sql;  // SELECT <columns> FROM <table>
};

KindTable make_kind(std::string name, std::string table, std::span<const Column> columns,
                    bool pruned) {
    KindTable t;
    t.columns = columns;
    t.table = table;
    t.select_sql = "SELECT " + select_list(columns) + " FROM " + table;
    const std::string key(columns.front().name);
    t.kind.name = std::move(name);
    t.kind.list_sql = "SELECT CAST(" + key + " AS TEXT), last_seq FROM " + table;
    t.kind.pruned_by_retention = pruned;
    std::string load_sql = t.select_sql + " WHERE " + key + " = ?1";
    bool integer_key = columns.front().type == Col::int64;
    t.kind.load = [load_sql, columns, integer_key](
                      store::Database& db,
                      std::string_view id) -> Result<std::optional<json::object>> {
        auto stmt = db.prepare(load_sql);
        if (!stmt) return stmt.error();
        if (integer_key) {
            std::int64_t n = 0;
            try {
                n = std::stoll(std::string(id));
            } catch (const std::exception&) {
                return std::optional<json::object>();
            }
            (*stmt)->bind(1, n);
        } else {
            (*stmt)->bind(1, id);
        }
        auto row = (*stmt)->step();
        if (!row) return row.error();
        if (!*row) return std::optional<json::object>();
        json::object out;
        for (std::size_t i = 0; i < columns.size(); ++i) {
            out[columns[i].name] = column_value(**stmt, static_cast<int>(i), columns[i].type);
        }
        (*stmt)->reset();
        return std::optional(std::move(out));
    };
    return t;
}

const std::vector<KindTable>& kind_tables() {
    static const std::vector<KindTable> tables{
        make_kind("inspection", "inspections", inspection_columns, false),
        make_kind("measurement", "measurements", measurement_columns, false),
        make_kind("photo", "photos", photo_columns, false),
        make_kind("complaint", "complaints", complaint_columns, false),
        make_kind("document_batch", "document_batches", document_batch_columns, false),
        make_kind("rectification", "rectifications", rectification_columns, false),
        make_kind("device_log", "device_log", device_log_columns, true),
        make_kind("mark", "marks", mark_columns, false),
    };
    return tables;
}

const KindTable& table_of(const store::RecordKind& kind) {
    for (const KindTable& t : kind_tables()) {
        if (t.kind.name == kind.name) return t;
    }
    throw std::logic_error("unknown record kind " + kind.name);
}

}  // namespace

const store::RecordKind& inspection_kind() { return kind_tables()[0].kind; }
const store::RecordKind& measurement_kind() { return kind_tables()[1].kind; }
const store::RecordKind& photo_kind() { return kind_tables()[2].kind; }
const store::RecordKind& complaint_kind() { return kind_tables()[3].kind; }
const store::RecordKind& document_batch_kind() { return kind_tables()[4].kind; }
const store::RecordKind& rectification_kind() { return kind_tables()[5].kind; }
const store::RecordKind& device_log_kind() { return kind_tables()[6].kind; }
const store::RecordKind& mark_kind() { return kind_tables()[7].kind; }

std::vector<store::RecordKind> all_record_kinds() {
    std::vector<store::RecordKind> kinds;
    for (const KindTable& t : kind_tables()) kinds.push_back(t.kind);
    return kinds;
}

Result<std::optional<json::object>> load_record(store::Database& db, const store::RecordKind& kind,
                                                std::string_view id) {
    return kind.load(db, id);
}

Result<std::vector<json::object>> query_records(
    store::Database& db, const store::RecordKind& kind, std::string_view where_and_order,
    const std::function<void(store::Statement&)>& bind) {
    const KindTable& t = table_of(kind);
    std::string sql = t.select_sql + " " + std::string(where_and_order);
    auto stmt = db.prepare(sql);
    if (!stmt) return stmt.error();
    if (bind) bind(**stmt);
    std::vector<json::object> out;
    for (;;) {
        auto row = (*stmt)->step();
        if (!row) return row.error();
        if (!*row) break;
        json::object record;
        for (std::size_t i = 0; i < t.columns.size(); ++i) {
            record[t.columns[i].name] =
                column_value(**stmt, static_cast<int>(i), t.columns[i].type);
        }
        out.push_back(std::move(record));
    }
    (*stmt)->reset();
    return out;
}

}  // namespace fieldlog::domain
