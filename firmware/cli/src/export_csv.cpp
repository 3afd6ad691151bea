#include <array>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <vector>

#include "fieldlog/cli/format.hpp"
#include "fieldlog/clock.hpp"
#include "text.hpp"

namespace fieldlog::cli {

namespace json = boost::json;

namespace {

// How one column of a section reads its value from a record.
enum class Cell { text, time };

struct CsvColumn {
    std::string_view header;
    std::string_view key;
    Cell cell = Cell::text;
};

// Unlike the human text, the CSV keeps values exact: shortest round-trip numbers, strings
// unaltered (quoting carries any newline), an empty field for null.
std::string csv_value(const json::value& value) {
    switch (value.kind()) {
        case json::kind::null:
            return {};
        case json::kind::bool_:
            return value.get_bool() ? "true" : "false";
        case json::kind::int64:
            return std::to_string(value.get_int64());
        case json::kind::uint64:
            return std::to_string(value.get_uint64());
        case json::kind::double_: {
            std::array<char, 32> buffer{};
            auto [end, ec] =
                std::to_chars(buffer.data(), buffer.data() + buffer.size(), value.get_double());
            return ec == std::errc() ? std::string(buffer.data(), end) : std::string();
        }
        case json::kind::string:
            return std::string(value.get_string());
        case json::kind::array: {
            std::string out;
            for (const auto& item : value.get_array()) {
                if (!out.empty()) out += "; ";
                out += csv_value(item);
            }
            return out;
        }
        case json::kind::object:
            return json::serialize(value);
    }
    return {};
}

std::string cell_text(const json::object& record, const CsvColumn& column) {
    const json::value* value = record.if_contains(column.key);
    if (value == nullptr || value->is_null()) return {};
    if (column.cell == Cell::time) {
        auto ms = text::integer(record, column.key);
        return ms ? format_utc_ms(*ms) : csv_value(*value);
    }
    return csv_value(*value);
}

class Section {
public:
    Section(std::string_view record, std::vector<CsvColumn> columns)
        : record_(record), columns_(std::move(columns)) {
        std::vector<std::string> header{"record"};
        for (const auto& column : columns_) header.emplace_back(column.header);
        row(header);
    }

    void add(const json::object& record) {
        std::vector<std::string> cells{std::string(record_)};
        for (const auto& column : columns_) cells.push_back(cell_text(record, column));
        row(cells);
    }

    const std::string& text() const { return text_; }

private:
    void row(const std::vector<std::string>& cells) {
        for (std::size_t i = 0; i < cells.size(); ++i) {
            if (i > 0) text_ += ',';
            text_ += csv_field(cells[i]);
        }
        text_ += "\r\n";  // RFC 4180 ends records with CRLF
    }

    std::string_view record_;
    std::vector<CsvColumn> columns_;
    std::string text_;
};

template <class Fn>
void for_each_object(const json::array& array, Fn&& fn) {
    for (const auto& item : array) {
        if (item.is_object()) fn(item.get_object());
    }
}

}  // namespace

std::string csv_field(std::string_view text) {
    if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

std::string format_export_csv(const json::object& result) {
    Section inspections("inspection", {{"id", "id"},
                                       {"site_id", "site_id"},
                                       {"site_name", "site_name"},
                                       {"kind", "kind"},
                                       {"inspectors", "inspectors"},
                                       {"status", "status"},
                                       {"started_utc", "started_ms", Cell::time},
                                       {"closed_utc", "closed_ms", Cell::time},
                                       {"gnss_time_utc", "gnss_time_ms", Cell::time},
                                       {"lat", "lat"},
                                       {"lon", "lon"},
                                       {"verdict", "verdict"},
                                       {"notes", "notes"}});
    Section measurements("measurement", {{"id", "id"},
                                         {"inspection_id", "inspection_id"},
                                         {"parameter", "parameter"},
                                         {"value", "value"},
                                         {"unit", "unit"},
                                         {"entered_value", "entered_value"},
                                         {"entered_unit", "entered_unit"},
                                         {"sampling_point", "sampling_point"},
                                         {"method", "method"},
                                         {"lab_sample_id", "lab_sample_id"},
                                         {"water_temp_c", "water_temp_c"},
                                         {"limit_min", "limit_min"},
                                         {"limit_max", "limit_max"},
                                         {"limit_source", "limit_source"},
                                         {"verdict", "verdict"},
                                         {"exceedance_ratio", "exceedance_ratio"},
                                         {"note", "note"},
                                         {"device_time_utc", "device_time_ms", Cell::time},
                                         {"gnss_time_utc", "gnss_time_ms", Cell::time},
                                         {"lat", "lat"},
                                         {"lon", "lon"}});
    Section photos("photo", {{"id", "id"},
                             {"inspection_id", "inspection_id"},
                             {"sha256", "sha256"},
                             {"size", "size"},
                             {"original_name", "original_name"},
                             {"caption", "caption"},
                             {"tags", "tags"},
                             {"capture_time_utc", "capture_time_ms", Cell::time},
                             {"capture_time_text", "capture_time_text"},
                             {"exif_lat", "exif_lat"},
                             {"exif_lon", "exif_lon"},
                             {"exif_altitude_m", "exif_altitude_m"},
                             {"width", "width"},
                             {"height", "height"},
                             {"warnings", "warnings"},
                             {"device_time_utc", "device_time_ms", Cell::time},
                             {"gnss_time_utc", "gnss_time_ms", Cell::time},
                             {"lat", "lat"},
                             {"lon", "lon"}});
    Section marks("mark", {{"id", "id"},
                           {"inspection_id", "inspection_id"},
                           {"label", "label"},
                           {"source", "source"},
                           {"device_time_utc", "device_time_ms", Cell::time},
                           {"gnss_time_utc", "gnss_time_ms", Cell::time},
                           {"lat", "lat"},
                           {"lon", "lon"}});
    Section complaints("complaint", {{"case_number", "case_number"},
                                     {"batch_number", "batch_number"},
                                     {"summary", "summary"},
                                     {"received_utc", "received_ms", Cell::time},
                                     {"forwarded_utc", "forwarded_ms", Cell::time},
                                     {"forward_late", "forward_late"},
                                     {"responsible_unit", "responsible_unit"},
                                     {"status", "status"},
                                     {"finding", "finding"},
                                     {"inspection_ids", "inspection_ids"},
                                     {"notes", "notes"},
                                     {"device_time_utc", "device_time_ms", Cell::time}});
    Section documents("document_batch", {{"batch_number", "batch_number"},
                                         {"items", "items"},
                                         {"documents", "documents"},
                                         {"topics", "topics"},
                                         {"handed_over_utc", "handed_over_ms", Cell::time},
                                         {"notes", "notes"},
                                         {"device_time_utc", "device_time_ms", Cell::time}});
    Section rectifications("rectification", {{"id", "id"},
                                             {"problem", "problem"},
                                             {"inspection_id", "inspection_id"},
                                             {"responsible_party", "responsible_party"},
                                             {"deadline_utc", "deadline_ms", Cell::time},
                                             {"status", "status"},
                                             {"overdue", "overdue"},
                                             {"verified_inspection_id", "verified_inspection_id"},
                                             {"verified_utc", "verified_ms", Cell::time},
                                             {"notes", "notes"},
                                             {"device_time_utc", "device_time_ms", Cell::time}});

    for_each_object(text::array_at(result, "inspections"), [&](const json::object& inspection) {
        inspections.add(inspection);
        for_each_object(text::array_at(inspection, "measurements"),
                        [&](const json::object& m) { measurements.add(m); });
        for_each_object(text::array_at(inspection, "photos"),
                        [&](const json::object& p) { photos.add(p); });
        for_each_object(text::array_at(inspection, "marks"),
                        [&](const json::object& k) { marks.add(k); });
    });
    for_each_object(text::array_at(result, "complaints"),
                    [&](const json::object& c) { complaints.add(c); });
    for_each_object(text::array_at(result, "document_batches"),
                    [&](const json::object& d) { documents.add(d); });
    for_each_object(text::array_at(result, "rectifications"),
                    [&](const json::object& r) { rectifications.add(r); });

    return inspections.text() + "\r\n" + measurements.text() + "\r\n" + photos.text() + "\r\n" +
           marks.text() + "\r\n" + complaints.text() + "\r\n" + documents.text() + "\r\n" +
           rectifications.text();
}

}  // namespace fieldlog::cli
