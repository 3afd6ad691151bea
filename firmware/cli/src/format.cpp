#include "fieldlog/cli/format.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <functional>
#include <map>

#include "text.hpp"

namespace fieldlog::cli {

namespace json = boost::json;

using text::field;
using text::time_field;

namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;

// Records in a list that are not objects are skipped rather than failing the whole listing.
template <class Fn>
void for_each_object(const json::array& array, Fn&& fn) {
    for (const auto& item : array) {
        if (item.is_object()) fn(item.get_object());
    }
}

std::string section(std::string_view title, const text::Table& table, std::string_view if_empty) {
    if (table.empty()) return "\n" + std::string(title) + ": " + std::string(if_empty) + "\n";
    return "\n" + std::string(title) + "\n" + table.render();
}

std::string position(const json::object& record, std::string_view lat_key,
                     std::string_view lon_key) {
    auto lat = text::number(record, lat_key);
    auto lon = text::number(record, lon_key);
    if (!lat || !lon) return std::string(text::none);
    return text::number_text(*lat) + ", " + text::number_text(*lon);
}

// "<= 50", ">= 6", "6 to 9" in the reading's canonical unit.
std::string limit_text(const json::object& measurement) {
    auto min = text::number(measurement, "limit_min");
    auto max = text::number(measurement, "limit_max");
    if (min && max) return text::number_text(*min) + " to " + text::number_text(*max);
    if (max) return "<= " + text::number_text(*max);
    if (min) return ">= " + text::number_text(*min);
    return std::string(text::none);
}

std::string exceedance_text(const json::object& measurement) {
    auto ratio = text::number(measurement, "exceedance_ratio");
    return ratio ? text::percent_text(*ratio, true) : std::string(text::none);
}

// The daemon's verdict words, with the amount over the limit where there is one.
std::string verdict_text(const json::object& measurement) {
    std::string verdict = field(measurement, "verdict");
    if (auto ratio = text::number(measurement, "exceedance_ratio")) {
        verdict += ", " + text::percent_text(*ratio, false) + " over the limit";
    }
    return verdict;
}

// ---- records as blocks ----

// For rows of a block that only some records have: empty, so key_values leaves the row out.
std::string if_present(const json::object& record, std::string_view key) {
    std::string value = field(record, key);
    return value == text::none ? std::string() : value;
}

std::string inspection_block(const json::object& inspection) {
    std::string title =
        "inspection " + field(inspection, "id") + " (" + field(inspection, "status") + ")\n";
    return title +
           text::key_values({
               {"site", field(inspection, "site_id") + " " + field(inspection, "site_name")},
               {"kind", field(inspection, "kind")},
               {"inspectors", field(inspection, "inspectors")},
               {"started", time_field(inspection, "started_ms")},
               {"closed", time_field(inspection, "closed_ms")},
               {"position", position(inspection, "lat", "lon")},
               {"verdict", field(inspection, "verdict")},
               {"notes", field(inspection, "notes")},
           });
}

std::string measurement_block(const json::object& m) {
    std::string value = field(m, "value") + " " + field(m, "unit");
    std::string entered = field(m, "entered_value") + " " + field(m, "entered_unit");
    if (entered != value && m.contains("entered_value")) value += " (entered " + entered + ")";
    auto temp_c = text::number(m, "water_temp_c");
    std::string water_temp = temp_c ? text::number_text(*temp_c) + " °C" : "";
    std::string limit = limit_text(m);
    if (limit != text::none) {
        limit += " " + field(m, "unit");
        if (auto source = field(m, "limit_source"); source != text::none && !source.empty()) {
            limit += " (" + source + ")";
        }
    }
    return "measurement " + field(m, "id") + "\n" +
           text::key_values({
               {"parameter", field(m, "parameter")},
               {"value", value},
               {"sampling point", field(m, "sampling_point")},
               {"method", field(m, "method")},
               {"lab sample", if_present(m, "lab_sample_id")},
               {"water temp", water_temp},
               {"limit", limit},
               {"verdict", verdict_text(m)},
               {"note", field(m, "note")},
               {"time", time_field(m, "device_time_ms")},
               {"inspection", field(m, "inspection_id")},
           });
}

std::string photo_block(const json::object& result) {
    const json::object& p = text::object_at(result, "photo");
    std::string size = text::integer(p, "size") ? text::bytes_text(*text::integer(p, "size"))
                                                : std::string(text::none);
    std::string pixels = field(p, "width") + "x" + field(p, "height");
    std::string out = "photo " + field(p, "id") + "\n";
    if (text::flag(result, "duplicate")) {
        out += "  duplicate: this inspection already holds the same image\n";
    }
    Rows rows{
        {"file", field(p, "original_name")},
        {"size", size + ", " + pixels},
        {"sha256", field(p, "sha256")},
        {"captured", text::integer(p, "capture_time_ms") ? time_field(p, "capture_time_ms")
                                                         : field(p, "capture_time_text")},
        {"position", position(p, "exif_lat", "exif_lon")},
        {"tags", field(p, "tags")},
        {"caption", field(p, "caption")},
        {"inspection", field(p, "inspection_id")},
    };
    for (const auto& warning : text::array_at(p, "warnings")) {
        rows.emplace_back("warning", warning.is_string()
                                         ? text::sanitise(warning.get_string())
                                         : text::sanitise(json::serialize(warning)));
    }
    return out + text::key_values(rows);
}

std::string forwarded_text(const json::object& complaint) {
    std::string forwarded = time_field(complaint, "forwarded_ms");
    return text::flag(complaint, "forward_late") ? forwarded + " (late)" : forwarded;
}

std::string complaint_block(const json::object& c) {
    return "complaint " + field(c, "case_number") + " (" + field(c, "status") + ")\n" +
           text::key_values({
               {"batch", field(c, "batch_number")},
               {"summary", field(c, "summary")},
               {"received", time_field(c, "received_ms")},
               {"forwarded", forwarded_text(c)},
               {"unit", field(c, "responsible_unit")},
               {"finding", field(c, "finding")},
               {"inspections", field(c, "inspection_ids")},
               {"notes", field(c, "notes")},
           });
}

std::string mark_block(const json::object& m) {
    return "mark " + field(m, "id") + "\n" +
           text::key_values({
               {"label", field(m, "label")},
               {"time", time_field(m, "device_time_ms")},
               {"position", position(m, "lat", "lon")},
               {"gnss time", time_field(m, "gnss_time_ms")},
               {"source", field(m, "source")},
               {"inspection", field(m, "inspection_id")},
           });
}

std::string document_block(const json::object& d) {
    return "document batch " + field(d, "batch_number") + "\n" +
           text::key_values({
               {"items", field(d, "items")},
               {"documents", field(d, "documents")},
               {"topics", field(d, "topics")},
               {"handed over", time_field(d, "handed_over_ms")},
               {"notes", field(d, "notes")},
           });
}

std::string rectification_block(const json::object& r) {
    std::string status = field(r, "status");
    if (text::flag(r, "overdue")) status += ", overdue";
    return "rectification " + field(r, "id") + " (" + status + ")\n" +
           text::key_values({
               {"problem", field(r, "problem")},
               {"responsible", field(r, "responsible_party")},
               {"deadline", time_field(r, "deadline_ms")},
               {"inspection", field(r, "inspection_id")},
               {"verified by", field(r, "verified_inspection_id")},
               {"verified", time_field(r, "verified_ms")},
               {"notes", field(r, "notes")},
           });
}

// ---- lists as tables ----

text::Table measurement_table(const json::array& measurements) {
    text::Table table({{"TIME"},
                       {"PARAMETER"},
                       {"VALUE", true},
                       {"UNIT"},
                       {"POINT"},
                       {"METHOD"},
                       {"LIMIT"},
                       {"VERDICT"},
                       {"EXCEEDANCE", true}});
    for_each_object(measurements, [&](const json::object& m) {
        table.add({time_field(m, "device_time_ms"), field(m, "parameter"), field(m, "value"),
                   field(m, "unit"), field(m, "sampling_point"), field(m, "method"), limit_text(m),
                   field(m, "verdict"), exceedance_text(m)});
    });
    return table;
}

text::Table comparison_table(const json::array& comparisons) {
    text::Table table({{"PARAMETER"},
                       {"POINT"},
                       {"UNIT"},
                       {"FIELD", true},
                       {"ONLINE", true},
                       {"DIFFERENCE", true},
                       {"RELATIVE", true}});
    for_each_object(comparisons, [&](const json::object& c) {
        auto difference = text::number(c, "difference");
        auto relative = text::number(c, "relative_difference");
        table.add({field(c, "parameter"), field(c, "sampling_point"), field(c, "unit"),
                   field(c, "field"), field(c, "online"),
                   difference ? text::signed_number_text(*difference) : std::string(text::none),
                   relative ? text::percent_text(*relative, true) : std::string(text::none)});
    });
    return table;
}

std::string readings_sections(const json::object& result) {
    return section("measurements", measurement_table(text::array_at(result, "measurements")),
                   "none") +
           section("field vs online (difference = online - field)",
                   comparison_table(text::array_at(result, "comparisons")),
                   "no parameter has both a field and an online reading");
}

text::Table photo_table(const json::array& photos) {
    text::Table table({{"ID"}, {"FILE"}, {"SIZE", true}, {"CAPTURED"}, {"TAGS"}, {"CAPTION"}});
    for_each_object(photos, [&](const json::object& p) {
        auto size = text::integer(p, "size");
        table.add({field(p, "id"), field(p, "original_name"),
                   size ? text::bytes_text(*size) : std::string(text::none),
                   time_field(p, "capture_time_ms"), field(p, "tags"), field(p, "caption")});
    });
    return table;
}

text::Table rectification_table(const json::array& rectifications) {
    text::Table table(
        {{"ID"}, {"STATUS"}, {"DEADLINE"}, {"OVERDUE"}, {"RESPONSIBLE"}, {"PROBLEM"}});
    for_each_object(rectifications, [&](const json::object& r) {
        table.add({field(r, "id"), field(r, "status"), time_field(r, "deadline_ms"),
                   text::flag(r, "overdue") ? "yes" : "", field(r, "responsible_party"),
                   field(r, "problem")});
    });
    return table;
}

std::string list(const text::Table& table, std::string_view if_empty) {
    return table.empty() ? std::string(if_empty) + "\n" : table.render();
}

text::Table mark_table(const json::array& marks) {
    text::Table table({{"TIME"}, {"LABEL"}, {"POSITION"}, {"SOURCE"}});
    for_each_object(marks, [&](const json::object& m) {
        table.add({time_field(m, "device_time_ms"), field(m, "label"), position(m, "lat", "lon"),
                   field(m, "source")});
    });
    return table;
}

std::string mark_list(const json::object& r) {
    return list(mark_table(text::array_at(r, "marks")), "no marks");
}

// ---- one function per op ----

// "idle, 3 entries (2.0 KiB) waiting, 1 parked, last success 2026-11-25T09:30:00Z", or
// "disabled"; empty for a daemon that predates sync, so the row is left out.
std::string sync_text(const json::object& r) {
    const json::value* value = r.if_contains("sync");
    if (value == nullptr || !value->is_object()) return "";
    const json::object& sync = value->get_object();
    if (!text::flag(sync, "enabled")) return "disabled";
    std::string out = field(sync, "state");
    if (auto pending = text::integer(sync, "pending_entries")) {
        auto bytes = text::integer(sync, "pending_bytes");
        out += ", " + std::to_string(*pending) + " entries (" +
               (bytes ? text::bytes_text(*bytes) : std::string(text::none)) + ") waiting";
    }
    if (auto parked = text::integer(sync, "parked_entries"); parked && *parked > 0) {
        out += ", " + std::to_string(*parked) + " parked";
    }
    if (text::integer(sync, "last_success_ms")) {
        out += ", last success " + time_field(sync, "last_success_ms");
    }
    if (text::integer(sync, "next_attempt_ms")) {
        out += ", next attempt " + time_field(sync, "next_attempt_ms");
    }
    return out;
}

// A string one level down (status.sync.last_error), sanitised; empty when missing or null, so
// the row is left out.
std::string nested_text(const json::object& r, std::string_view part, std::string_view key) {
    const json::value* value = text::object_at(r, part).if_contains(key);
    if (value == nullptr || !value->is_string()) return "";
    return text::sanitise(value->get_string());
}

// "version 3 from the office, applied 2026-11-25T09:30:00Z: 8 sites, 2 standard classes, 1
// assigned complaint case" or "config files: 7 sites, 2 standard classes"; empty for a daemon
// that predates downloaded reference data.
std::string reference_text(const json::object& r) {
    const json::value* value = r.if_contains("reference");
    if (value == nullptr || !value->is_object()) return "";
    const json::object& reference = value->get_object();
    std::string counts = field(reference, "sites") + " sites, " + field(reference, "standards") +
                         " standard classes";
    if (field(reference, "source") != "office") return "config files: " + counts;
    auto assigned = text::integer(reference, "assigned_complaints").value_or(0);
    return "version " + field(reference, "version") + " from the office, applied " +
           time_field(reference, "applied_ms") + ": " + counts + ", " + std::to_string(assigned) +
           (assigned == 1 ? " assigned complaint case" : " assigned complaint cases");
}

std::string joined(const std::vector<std::string>& parts, std::string_view separator) {
    std::string out;
    for (const auto& part : parts) out += (out.empty() ? "" : std::string(separator)) + part;
    return out;
}

// A name as words: "slow_blink" -> "slow blink", "not_charging" -> "not charging".
std::string field_words(const json::object& object, std::string_view key) {
    std::string name = field(object, key);
    std::replace(name.begin(), name.end(), '_', ' ');
    return name;
}

// "libgpiod: button released, docked, status LED on, battery LED off", "not configured", or
// empty for a daemon that predates GPIO, so the row is left out.
std::string gpio_text(const json::object& r) {
    const json::value* value = r.if_contains("gpio");
    if (value == nullptr || !value->is_object()) return "";
    const json::object& gpio = value->get_object();
    if (!text::flag(gpio, "enabled")) return "not configured";
    const json::object& lines = text::object_at(gpio, "lines");
    const json::object& leds = text::object_at(gpio, "leds");
    std::vector<std::string> parts;
    if (const json::value* button = gpio.if_contains("button"); button && button->is_string()) {
        parts.push_back("button " + text::sanitise(button->get_string()));
    }
    if (const json::value* docked = gpio.if_contains("docked"); docked && docked->is_bool()) {
        parts.emplace_back(docked->get_bool() ? "docked" : "not docked");
    }
    for (const auto& [key, label] :
         {std::pair{"status", "status LED "}, std::pair{"battery", "battery LED "}}) {
        if (const json::value* led = leds.if_contains(key); led && led->is_string()) {
            parts.push_back(label + field_words(leds, key));
        }
    }
    if (parts.empty() && lines.empty()) parts.emplace_back("no lines");
    return field(gpio, "backend") + (parts.empty() ? "" : ": " + joined(parts, ", "));
}

// "button gpiochip0:17 (active-low), debounce 30 ms, long press 1500 ms; dock gpiochip0:27,
// debounce 250 ms; status LED gpiochip0:22; LED blinks: syncing 1000 ms, error 200 ms, low
// battery 120 ms flashes every 2000 ms".
std::string gpio_lines_text(const json::object& r) {
    const json::object& gpio = text::object_at(r, "gpio");
    const json::object& lines = text::object_at(gpio, "lines");
    std::vector<std::string> parts;
    for (const auto& [key, label] :
         {std::pair{"button", "button"}, std::pair{"dock", "dock"},
          std::pair{"status_led", "status LED"}, std::pair{"battery_led", "battery LED"}}) {
        const json::value* value = lines.if_contains(key);
        if (value == nullptr || !value->is_object()) continue;
        const json::object& line = value->get_object();
        std::string part = std::string(label) + " " + field(line, "line");
        if (text::integer(line, "debounce_ms")) {
            part += ", debounce " + field(line, "debounce_ms") + " ms";
        }
        if (text::integer(line, "long_press_ms")) {
            part += ", long press " + field(line, "long_press_ms") + " ms";
        }
        parts.push_back(std::move(part));
    }
    const json::object& timing = text::object_at(gpio, "led_timing");
    if (!timing.empty()) {
        parts.push_back("LED blinks: syncing " + field(timing, "syncing_blink_ms") + " ms, error " +
                        field(timing, "error_blink_ms") + " ms, low battery " +
                        field(timing, "low_battery_flash_ms") + " ms flashes every " +
                        field(timing, "low_battery_period_ms") + " ms");
    }
    return joined(parts, "; ");
}

// "55%, discharging, LOW", "no battery, on external power"; empty without [power] (or from a
// daemon that predates it), so the row is left out.
std::string battery_text(const json::object& r) {
    const json::value* value = r.if_contains("power");
    if (value == nullptr || !value->is_object()) return "";
    const json::object& power = value->get_object();
    if (!text::flag(power, "enabled")) return "";
    if (power.contains("error")) return "unreadable";
    auto percent = text::integer(power, "battery_percent");
    std::string out = percent ? std::to_string(*percent) + "%" : "no battery";
    if (std::string charge = field_words(power, "charge");
        charge != text::none && charge != "unknown") {
        out += ", " + charge;
    }
    if (text::flag(power, "external_power")) out += ", on external power";
    if (text::flag(power, "low_battery")) out += ", LOW";
    return out;
}

// "1 newer entry", "3 newer entries".
std::string newer_entries(std::int64_t n) {
    return std::to_string(n) + (n == 1 ? " newer entry" : " newer entries");
}

// How far the signature reaches behind status.outbox.head_seq: ", signed", ", signed at 40 (1
// newer entry chained, not yet signed)"; empty from a daemon that does not say. The head is
// signed lazily, about a second after writes, so a short unsigned tail is normal.
std::string signed_head_text(const json::object& outbox) {
    auto head = text::integer(outbox, "head_seq");
    auto signed_head = text::integer(outbox, "signed_head_seq");
    if (!head || !signed_head) return "";
    if (*signed_head == *head) return ", signed";
    if (*signed_head > *head) {
        return ", signed at " + std::to_string(*signed_head) +
               ", beyond the chain: run 'fieldlog verify'";
    }
    return ", signed at " + std::to_string(*signed_head) + " (" +
           newer_entries(*head - *signed_head) + " chained, not yet signed)";
}

std::string sync_result(const json::object& r) {
    std::string state = field(text::object_at(r, "sync"), "state");
    if (text::flag(r, "drained")) return "outbox drained (sync " + state + ")\n";
    if (text::flag(r, "started")) return "sync started (" + state + ")\n";
    return json::serialize(r) + "\n";
}

std::string status(const json::object& r) {
    const json::object& outbox = text::object_at(r, "outbox");
    const json::object& counts = text::object_at(r, "counts");
    const json::object& open = text::object_at(r, "open_inspection");
    auto uptime = text::integer(r, "uptime_s");
    auto database = text::integer(r, "database_bytes");
    auto pending_bytes = text::integer(outbox, "pending_bytes");
    std::string open_text = open.empty() ? "none"
                                         : field(open, "id") + " at " + field(open, "site_name") +
                                               " (" + field(open, "kind") + "), started " +
                                               time_field(open, "started_ms");
    std::string records;
    for (const auto& [key, label] :
         std::vector<std::pair<std::string, std::string>>{{"inspections", "inspections"},
                                                          {"measurements", "measurements"},
                                                          {"photos", "photos"},
                                                          {"complaints", "complaints"},
                                                          {"document_batches", "document batches"},
                                                          {"rectifications", "rectifications"}}) {
        if (!records.empty()) records += ", ";
        records += field(counts, key) + " " + label;
    }
    return text::key_values(
        {
            {"device", field(r, "device_id")},
            {"version", field(r, "version")},
            {"uptime", uptime ? text::duration_text(*uptime) : std::string(text::none)},
            {"data directory", field(r, "data_dir")},
            {"database", (database ? text::bytes_text(*database) : std::string(text::none)) +
                             ", schema " + field(r, "schema_version")},
            {"open inspection", open_text},
            {"outbox",
             field(outbox, "pending_entries") + " entries (" +
                 (pending_bytes ? text::bytes_text(*pending_bytes) : std::string(text::none)) +
                 ") waiting, chain head " + field(outbox, "head_seq") + signed_head_text(outbox)},
            {"records", records},
            {"sync", sync_text(r)},
            {"sync error", nested_text(r, "sync", "last_error")},
            {"reference data", reference_text(r)},
            {"reference error", nested_text(r, "sync", "reference_error")},
            {"gpio", gpio_text(r)},
            {"gpio lines", gpio_lines_text(r)},
            {"gpio error", nested_text(r, "gpio", "last_error")},
            {"battery", battery_text(r)},
            {"power error", nested_text(r, "power", "error")},
        },
        "");
}

text::Table site_table(const json::array& sites) {
    text::Table table({{"ID"}, {"NAME"}, {"KIND"}, {"STANDARD"}, {"PERMIT"}, {"ADDRESS"}});
    for_each_object(sites, [&](const json::object& s) {
        table.add({field(s, "id"), field(s, "name"), field(s, "kind"), field(s, "standard_id"),
                   field(s, "permit_number"), field(s, "address")});
    });
    return table;
}

// "built before 2006-01-01": the plants a limit rule is for, when the standard splits them.
std::string plants_text(const json::object& limit) {
    auto day = [&](std::string_view key) { return time_field(limit, key).substr(0, 10); };
    bool from = text::integer(limit, "built_from_ms").has_value();
    bool before = text::integer(limit, "built_before_ms").has_value();
    if (from && before) return "built " + day("built_from_ms") + " to " + day("built_before_ms");
    if (from) return "built since " + day("built_from_ms");
    if (before) return "built before " + day("built_before_ms");
    return "all";
}

std::string site_show(const json::object& r) {
    const json::object& site = text::object_at(r, "site");
    text::Table limits({{"PARAMETER"},
                        {"MIN", true},
                        {"MAX", true},
                        {"MAX (COLD)", true},
                        {"UNIT"},
                        {"PLANTS"},
                        {"SOURCE"}});
    // The protocol's "site plus limits[]" reads either way: beside the site or inside it.
    const json::array& rules =
        r.contains("limits") ? text::array_at(r, "limits") : text::array_at(site, "limits");
    for_each_object(rules, [&](const json::object& l) {
        limits.add({field(l, "parameter"), field(l, "min"), field(l, "max"), field(l, "max_cold"),
                    field(l, "unit"), plants_text(l), field(l, "source")});
    });
    return "site " + field(site, "id") + "\n" +
           text::key_values({
               {"name", field(site, "name")},
               {"kind", field(site, "kind")},
               {"standard", field(site, "standard_id")},
               {"permit", field(site, "permit_number")},
               {"address", field(site, "address")},
               {"position", position(site, "lat", "lon")},
           }) +
           section("limits", limits, "none");
}

std::string inspection_list(const json::object& r) {
    text::Table table({{"ID"}, {"STARTED"}, {"STATUS"}, {"SITE"}, {"KIND"}, {"INSPECTORS"}});
    for_each_object(text::array_at(r, "inspections"), [&](const json::object& i) {
        table.add({field(i, "id"), time_field(i, "started_ms"), field(i, "status"),
                   field(i, "site_name"), field(i, "kind"), field(i, "inspectors")});
    });
    return list(table, "no inspections");
}

std::string inspection_show(const json::object& r) {
    return inspection_block(text::object_at(r, "inspection")) + readings_sections(r) +
           section("photos", photo_table(text::array_at(r, "photos")), "none") +
           section("marks", mark_table(text::array_at(r, "marks")), "none") +
           section("rectifications", rectification_table(text::array_at(r, "rectifications")),
                   "none");
}

std::string complaint_list(const json::object& r) {
    text::Table table({{"CASE"},
                       {"BATCH", true},
                       {"STATUS"},
                       {"FINDING"},
                       {"RECEIVED"},
                       {"FORWARDED"},
                       {"UNIT"},
                       {"SUMMARY"}});
    for_each_object(text::array_at(r, "complaints"), [&](const json::object& c) {
        table.add({field(c, "case_number"), field(c, "batch_number"), field(c, "status"),
                   field(c, "finding"), time_field(c, "received_ms"), forwarded_text(c),
                   field(c, "responsible_unit"), field(c, "summary")});
    });
    std::string out = list(table, "no complaints");
    // Cases the office assigned to this device that are not recorded yet.
    const json::array& assigned = text::array_at(r, "assigned");
    if (assigned.empty()) return out;
    text::Table pending({{"CASE"}, {"BATCH", true}, {"SITE"}, {"RECEIVED"}, {"UNIT"}, {"SUMMARY"}});
    for_each_object(assigned, [&](const json::object& c) {
        std::string site = field(c, "site_name");
        if (site == text::none) site = field(c, "site_id");
        pending.add({field(c, "case_number"), field(c, "batch_number"), site,
                     time_field(c, "received_ms"), field(c, "responsible_unit"),
                     field(c, "summary")});
    });
    return out + section("assigned by the office, not yet recorded (complaint add CASE)", pending,
                         "none");
}

std::string complaint_summary(const json::object& r) {
    std::string out = field(r, "text") + "\n";
    if (auto late = text::integer(r, "forwarded_late")) {
        out += "forwarded late: " + std::to_string(*late) + "\n";
    }
    return out;
}

std::string document_list(const json::object& r) {
    text::Table table({{"BATCH", true},
                       {"ITEMS", true},
                       {"DOCUMENTS", true},
                       {"HANDED OVER"},
                       {"TOPICS"},
                       {"NOTES"}});
    for_each_object(text::array_at(r, "document_batches"), [&](const json::object& d) {
        table.add({field(d, "batch_number"), field(d, "items"), field(d, "documents"),
                   time_field(d, "handed_over_ms"), field(d, "topics"), field(d, "notes")});
    });
    return list(table, "no document batches");
}

std::string document_summary(const json::object& r) {
    if (const auto* line = r.if_contains("text"); line != nullptr && line->is_string()) {
        return text::sanitise(line->get_string()) + "\n";
    }
    return field(r, "batches") + " batches, " + field(r, "items") + " items, " +
           field(r, "documents") + " documents\n";
}

std::string verify(const json::object& r) {
    if (!verify_found_problems(r)) {
        std::string out = "evidence chain OK: " + field(r, "entries_checked") + " entries, " +
                          field(r, "records_checked") + " records; head signed at entry " +
                          field(r, "head_seq");
        // Only when the device could not sign before checking (verify signs first): those
        // entries are linked to the signed one, but no signature covers them yet.
        if (auto tail = text::integer(r, "unsigned_entries"); tail && *tail > 0) {
            out += ", " + newer_entries(*tail) + " chained to it but not yet signed";
        }
        return out + "\n";
    }
    std::string out;
    for_each_object(text::array_at(r, "problems"), [&](const json::object& p) {
        out += "seq " + field(p, "seq") + ": " + field(p, "kind") + " " + field(p, "record_id") +
               ": " + field(p, "what") + "\n";
    });
    if (out.empty()) out = "evidence chain verification failed, no details given\n";
    return out;
}

std::string logs(const json::object& r) {
    text::Table table({{"TIME"}, {"LEVEL"}, {"EVENT"}, {"MESSAGE"}});
    for_each_object(text::array_at(r, "entries"), [&](const json::object& e) {
        table.add(
            {time_field(e, "time_ms"), field(e, "level"), field(e, "event"), field(e, "message")});
    });
    return list(table, "no log entries");
}

std::string export_summary(const json::object& r) {
    std::size_t measurements = 0, photos = 0, marks = 0;
    for_each_object(text::array_at(r, "inspections"), [&](const json::object& i) {
        measurements += text::array_at(i, "measurements").size();
        photos += text::array_at(i, "photos").size();
        marks += text::array_at(i, "marks").size();
    });
    return "export of " + field(r, "device_id") + " from " + time_field(r, "from_ms") + " to " +
           time_field(r, "to_ms") + ": " + std::to_string(text::array_at(r, "inspections").size()) +
           " inspections, " + std::to_string(measurements) + " measurements, " +
           std::to_string(photos) + " photos, " + std::to_string(marks) + " marks, " +
           std::to_string(text::array_at(r, "complaints").size()) + " complaints, " +
           std::to_string(text::array_at(r, "document_batches").size()) + " document batches, " +
           std::to_string(text::array_at(r, "rectifications").size()) + " rectifications\n";
}

using Formatter = std::function<std::string(const json::object&)>;

const std::map<std::string_view, Formatter>& formatters() {
    static const std::map<std::string_view, Formatter> table{
        {"status", status},
        {"site.list",
         [](const json::object& r) {
             return list(site_table(text::array_at(r, "sites")), "no sites");
         }},
        {"site.show", site_show},
        {"inspection.start",
         [](const json::object& r) { return inspection_block(text::object_at(r, "inspection")); }},
        {"inspection.close",
         [](const json::object& r) { return inspection_block(text::object_at(r, "inspection")); }},
        {"inspection.list", inspection_list},
        {"inspection.show", inspection_show},
        {"measurement.add",
         [](const json::object& r) {
             return measurement_block(text::object_at(r, "measurement"));
         }},
        {"measurement.list",
         [](const json::object& r) {
             std::string out = readings_sections(r);
             return out.substr(1);  // no blank line before the first section
         }},
        {"photo.add", photo_block},
        {"photo.list",
         [](const json::object& r) {
             return list(photo_table(text::array_at(r, "photos")), "no photos");
         }},
        {"mark.add", [](const json::object& r) { return mark_block(text::object_at(r, "mark")); }},
        {"mark.list", mark_list},
        {"complaint.add",
         [](const json::object& r) { return complaint_block(text::object_at(r, "complaint")); }},
        {"complaint.forward",
         [](const json::object& r) { return complaint_block(text::object_at(r, "complaint")); }},
        {"complaint.update",
         [](const json::object& r) { return complaint_block(text::object_at(r, "complaint")); }},
        {"complaint.list", complaint_list},
        {"complaint.summary", complaint_summary},
        {"document.add",
         [](const json::object& r) {
             return document_block(text::object_at(r, "document_batch"));
         }},
        {"document.list", document_list},
        {"document.summary", document_summary},
        {"rectification.add",
         [](const json::object& r) {
             return rectification_block(text::object_at(r, "rectification"));
         }},
        {"rectification.verify",
         [](const json::object& r) {
             return rectification_block(text::object_at(r, "rectification"));
         }},
        {"rectification.list",
         [](const json::object& r) {
             return list(rectification_table(text::array_at(r, "rectifications")),
                         "no rectifications");
         }},
        {"verify", verify},
        {"export", export_summary},
        {"logs", logs},
        {"sync", sync_result},
    };
    return table;
}

}  // namespace

std::string format_human(std::string_view op, const json::object& result) {
    const auto& table = formatters();
    if (auto it = table.find(op); it != table.end()) return it->second(result);
    return json::serialize(result) + "\n";
}

std::string sync_progress_line(const json::object& status) {
    const json::object& sync = text::object_at(status, "sync");
    auto entries = text::integer(sync, "pending_entries");
    auto bytes = text::integer(sync, "pending_bytes");
    std::string line =
        "syncing: " + (entries ? std::to_string(*entries) : std::string(text::none)) +
        " records (" + (bytes ? text::bytes_text(*bytes) : std::string(text::none)) + ") left";
    if (field(sync, "state") == "backoff") {
        line += ", retrying";
        if (text::integer(sync, "next_attempt_ms")) {
            line += " at " + time_field(sync, "next_attempt_ms");
        }
    }
    return line;
}

bool verify_found_problems(const json::object& result) {
    const json::value* ok = result.if_contains("ok");
    bool chain_ok = ok != nullptr && ok->is_bool() && ok->get_bool();
    return !chain_ok || !text::array_at(result, "problems").empty();
}

}  // namespace fieldlog::cli
