#include "fieldlog/config/reference_set.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <limits>
#include <map>
#include <set>

#include "fieldlog/canonical_json.hpp"
#include "fieldlog/clock.hpp"
#include "fieldlog/digest.hpp"
#include "fieldlog/discharge/parameters.hpp"
#include "reference_readers.hpp"
#include "toml_reader.hpp"

namespace fieldlog::config {

namespace {

namespace json = boost::json;
using detail::Diagnostics;
using detail::in_quotes;
using detail::TableReader;

// The limits complaint.add applies to the same fields (docs/protocol.md).
constexpr std::int64_t max_batch_number = 100000;
constexpr std::size_t max_summary_bytes = 4000;
constexpr std::size_t max_unit_bytes = 256;

bool name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

// Case numbers name records on the device, so they follow complaint.add's rule.
bool valid_case_number(std::string_view id) {
    return !id.empty() && id.size() <= 64 && id.find("..") == std::string_view::npos &&
           std::all_of(id.begin(), id.end(), name_char);
}

bool valid_device_id(std::string_view id) {
    return !id.empty() && id.size() <= 64 && id != "." && id != ".." &&
           std::all_of(id.begin(), id.end(), name_char);
}

// ---- the assignments file ----

std::optional<AssignedComplaint> read_complaint(TableReader& reader, const ReferenceData& data,
                                                bool with_devices) {
    // Every key is read before any check, so that finish() knows them all.
    auto case_number = reader.string("case_number", true);
    auto batch = reader.integer("batch_number", 1, max_batch_number, true);
    auto summary = reader.string("summary");
    auto received = reader.time_ms("received");
    auto unit = reader.string("responsible_unit");
    auto site = reader.string("site");
    std::optional<std::vector<std::string>> devices;
    if (with_devices) devices = reader.strings("devices", true);

    bool ok = case_number && batch && (!with_devices || devices);
    if (case_number && !valid_case_number(*case_number)) {
        reader.error("case_number", "expected 1 to 64 of A-Z a-z 0-9 . _ - without \"..\", got " +
                                        in_quotes(*case_number));
        ok = false;
    }
    if (summary && summary->size() > max_summary_bytes) {
        reader.error("summary", "longer than " + std::to_string(max_summary_bytes) + " bytes");
        ok = false;
    }
    if (unit && unit->size() > max_unit_bytes) {
        reader.error("responsible_unit",
                     "longer than " + std::to_string(max_unit_bytes) + " bytes");
        ok = false;
    }
    if (site && data.find_site(*site) == nullptr) {
        reader.error("site", "unknown site " + in_quotes(*site) + "; the sites file defines no " +
                                 "such site");
        ok = false;
    }
    if (devices) {
        if (devices->empty()) {
            reader.error("devices", "name at least one device");
            ok = false;
        }
        std::set<std::string, std::less<>> seen;
        for (const auto& device : *devices) {
            if (!valid_device_id(device)) {
                reader.error("devices",
                             "expected device ids of 1 to 64 of A-Z a-z 0-9 . _ -, got " +
                                 in_quotes(device));
                ok = false;
            } else if (!seen.insert(device).second) {
                reader.error("devices", "device " + in_quotes(device) + " is named twice");
                ok = false;
            }
        }
    }
    if (!ok) return std::nullopt;
    AssignedComplaint complaint;
    complaint.case_number = *case_number;
    complaint.batch_number = *batch;
    complaint.summary = summary.value_or("");
    complaint.received_ms = received;
    complaint.responsible_unit = unit.value_or("");
    complaint.site_id = site.value_or("");
    if (devices) complaint.devices = std::move(*devices);
    return complaint;
}

void read_complaints(const toml::table& document, const ReferenceData& data, bool with_devices,
                     std::vector<AssignedComplaint>& out, Diagnostics& diag) {
    TableReader root(document, "", diag);
    std::map<std::string, std::string, std::less<>> places;
    for (const toml::table* table : root.tables("complaint", true)) {
        TableReader reader(*table, "complaint", diag);
        auto complaint = read_complaint(reader, data, with_devices);
        reader.finish();
        if (!complaint) continue;
        if (auto first = places.find(complaint->case_number); first != places.end()) {
            reader.error("case_number", "duplicate case " + in_quotes(complaint->case_number) +
                                            "; first assigned at " + first->second);
            continue;
        }
        places.emplace(complaint->case_number, diag.location(reader.where("case_number")));
        out.push_back(std::move(*complaint));
    }
    root.finish();
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.case_number < b.case_number; });
}

// ---- JSON out ----

json::object rule_json(const discharge::LimitRule& rule) {
    json::object out{{"parameter", rule.parameter}};
    const discharge::ParameterInfo* info = discharge::find_parameter(rule.parameter);
    if (info != nullptr && !info->canonical_unit.empty()) out["unit"] = info->canonical_unit;
    if (rule.min) out["min"] = *rule.min;
    if (rule.max) out["max"] = *rule.max;
    if (rule.max_cold) out["max_cold"] = *rule.max_cold;
    if (rule.built_from_ms) out["built_from"] = format_utc_ms(*rule.built_from_ms);
    if (rule.built_before_ms) out["built_before"] = format_utc_ms(*rule.built_before_ms);
    return out;
}

json::array rules_json(const std::vector<discharge::LimitRule>& rules) {
    json::array out;
    for (const auto& rule : rules) out.push_back(rule_json(rule));
    return out;
}

json::object site_json(const Site& site) {
    json::object out{{"id", site.id}, {"name", site.name}, {"kind", site_kind_name(site.kind)}};
    if (!site.address.empty()) out["address"] = site.address;
    if (site.lat) out["lat"] = *site.lat;
    if (site.lon) out["lon"] = *site.lon;
    if (!site.standard_id.empty()) out["standard"] = site.standard_id;
    if (site.built_ms) out["built"] = format_utc_ms(*site.built_ms);
    if (!site.permit_number.empty()) out["permit"] = site.permit_number;
    if (!site.permit_rules.empty()) out["permit_limits"] = rules_json(site.permit_rules);
    return out;
}

json::object complaint_json(const AssignedComplaint& complaint, bool with_devices) {
    json::object out{{"case_number", complaint.case_number},
                     {"batch_number", complaint.batch_number}};
    if (!complaint.summary.empty()) out["summary"] = complaint.summary;
    if (complaint.received_ms) out["received"] = format_utc_ms(*complaint.received_ms);
    if (!complaint.responsible_unit.empty()) out["responsible_unit"] = complaint.responsible_unit;
    if (!complaint.site_id.empty()) out["site"] = complaint.site_id;
    if (with_devices) {
        json::array devices;
        for (const auto& device : complaint.devices) devices.emplace_back(device);
        out["devices"] = std::move(devices);
    }
    return out;
}

// device: only that device's cases, without device lists.
json::object set_object(const ReferenceSet& set, const std::string* device) {
    json::array standards, sites, complaints;
    for (const auto& [id, standard] : set.data.standards) {
        standards.push_back(json::object{{"id", standard.id},
                                         {"title", standard.title},
                                         {"limits", rules_json(standard.rules)}});
    }
    for (const auto& [id, site] : set.data.sites) sites.push_back(site_json(site));
    for (const auto& complaint : set.complaints) {
        if (device != nullptr && std::find(complaint.devices.begin(), complaint.devices.end(),
                                           *device) == complaint.devices.end()) {
            continue;
        }
        complaints.push_back(complaint_json(complaint, device == nullptr));
    }
    return json::object{{"standards", std::move(standards)},
                        {"sites", std::move(sites)},
                        {"complaints", std::move(complaints)}};
}

// ---- JSON in, through the TOML readers ----

toml::table table_of(const json::object& object);
toml::array array_of(const json::array& array);

// The TOML value a JSON value stands for; null is left out, as a key that is absent.
template <class Insert>
void convert(const json::value& value, Insert&& insert) {
    switch (value.kind()) {
        case json::kind::null:
            return;
        case json::kind::bool_:
            insert(value.get_bool());
            return;
        case json::kind::int64:
            insert(value.get_int64());
            return;
        case json::kind::uint64:
            if (value.get_uint64() <=
                static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                insert(static_cast<std::int64_t>(value.get_uint64()));
            } else {
                insert(static_cast<double>(value.get_uint64()));
            }
            return;
        case json::kind::double_:
            insert(value.get_double());
            return;
        case json::kind::string:
            insert(std::string(value.get_string()));
            return;
        case json::kind::array:
            insert(array_of(value.get_array()));
            return;
        case json::kind::object:
            insert(table_of(value.get_object()));
            return;
    }
}

toml::table table_of(const json::object& object) {
    toml::table out;
    for (const auto& member : object) {
        std::string_view key = member.key();
        convert(member.value(),
                [&](auto&& v) { out.insert_or_assign(key, std::forward<decltype(v)>(v)); });
    }
    return out;
}

toml::array array_of(const json::array& array) {
    toml::array out;
    for (const auto& element : array) {
        convert(element, [&](auto&& v) { out.push_back(std::forward<decltype(v)>(v)); });
    }
    return out;
}

// The three lists of a set, checked by the readers the files go through. Messages name the
// list and the key ("reference bundle sites: site.standard: unknown standard class ...").
Result<ReferenceSet> set_from_object(const json::object& object, bool with_devices,
                                     const std::string& source) {
    for (std::string_view key : {"standards", "sites", "complaints"}) {
        const json::value* list = object.if_contains(key);
        if (list == nullptr || !list->is_array()) {
            return Error(Errc::invalid_argument,
                         source + ": " + std::string(key) +
                             (list == nullptr ? ": missing" : ": expected an array"));
        }
    }
    Diagnostics diag;
    ReferenceSet set;
    std::map<std::string, std::string> places;
    toml::table standards;
    standards.insert("class", array_of(object.at("standards").get_array()));
    diag.set_source(source + " standards");
    detail::read_standards(standards, set.data.standards, places, diag);
    if (!diag.ok()) return diag.to_error();
    toml::table sites;
    sites.insert("site", array_of(object.at("sites").get_array()));
    diag.set_source(source + " sites");
    detail::read_sites(sites, set.data, diag);
    if (!diag.ok()) return diag.to_error();
    toml::table complaints;
    complaints.insert("complaint", array_of(object.at("complaints").get_array()));
    diag.set_source(source + " complaints");
    read_complaints(complaints, set.data, with_devices, set.complaints, diag);
    if (!diag.ok()) return diag.to_error();
    return set;
}

Error bundle_error(std::string_view what) {
    return Error(Errc::invalid_argument, "reference bundle: " + std::string(what));
}

std::optional<std::int64_t> int_member(const json::object& object, std::string_view key) {
    const json::value* v = object.if_contains(key);
    if (v == nullptr || !v->is_int64()) return std::nullopt;
    return v->get_int64();
}

}  // namespace

Result<ReferenceSet> parse_reference_files(std::span<const SourceFile> files) {
    if (files.empty()) return Error(Errc::invalid_argument, "no reference files given");
    struct Document {
        const SourceFile* file;
        toml::table table;
    };
    std::vector<Document> standards, sites, assignments;
    Diagnostics diag;
    for (const SourceFile& file : files) {
        diag.set_source(file.name);
        if (file.text.size() > max_reference_file_bytes) {
            diag.error("", "larger than " + std::to_string(max_reference_file_bytes) + " bytes");
            continue;
        }
        auto document = detail::parse_document(file.text, diag);
        if (!document) continue;
        const bool has_class = document->contains("class");
        const bool has_site = document->contains("site");
        const bool has_complaint = document->contains("complaint");
        const int kinds = int{has_class} + int{has_site} + int{has_complaint};
        if (kinds == 0) {
            diag.error("",
                       "holds no [[class]], [[site]] or [[complaint]] tables, so it is not a "
                       "standards, sites or assignments file");
            continue;
        }
        if (kinds > 1) {
            diag.error("",
                       "mixes [[class]], [[site]] and [[complaint]] tables; keep standards, "
                       "sites and complaint assignments in separate files");
            continue;
        }
        std::vector<Document>& bucket = has_class ? standards : has_site ? sites : assignments;
        if (!has_class && !bucket.empty()) {
            diag.error("", std::string("a second ") + (has_site ? "sites" : "assignments") +
                               " file; the first is " + bucket.front().file->name);
            continue;
        }
        bucket.push_back(Document{&file, std::move(*document)});
    }
    if (diag.ok() && sites.empty()) {
        return Error(Errc::invalid_argument,
                     "no sites file (a file with [[site]] tables) among the reference files");
    }
    if (!diag.ok()) return diag.to_error();

    // Standards first, then the sites that name them, then the cases that name the sites.
    ReferenceSet set;
    std::map<std::string, std::string> places;
    for (const Document& document : standards) {
        diag.set_source(document.file->name);
        detail::read_standards(document.table, set.data.standards, places, diag);
    }
    if (!diag.ok()) return diag.to_error();
    diag.set_source(sites.front().file->name);
    detail::read_sites(sites.front().table, set.data, diag);
    if (!diag.ok()) return diag.to_error();
    if (!assignments.empty()) {
        diag.set_source(assignments.front().file->name);
        read_complaints(assignments.front().table, set.data, true, set.complaints, diag);
        if (!diag.ok()) return diag.to_error();
    }
    return set;
}

std::string reference_set_json(const ReferenceSet& set) {
    return canonical_json(set_object(set, nullptr));
}

Result<ReferenceSet> parse_reference_set_json(std::string_view text, bool with_devices) {
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec) {
        return Error(Errc::invalid_argument, "reference data is not valid JSON: " + ec.message());
    }
    if (!value.is_object()) {
        return Error(Errc::invalid_argument, "reference data is not a JSON object");
    }
    return set_from_object(value.get_object(), with_devices, "reference data");
}

std::string make_reference_bundle(std::int64_t version, std::int64_t published_ms,
                                  const std::string& device_id, const ReferenceSet& set) {
    json::object bundle = set_object(set, &device_id);
    bundle["format"] = reference_bundle_format;
    bundle["version"] = version;
    bundle["published_ms"] = published_ms;
    bundle["device_id"] = device_id;
    bundle["sha256"] = to_hex(sha256(canonical_json(bundle)));
    return canonical_json(bundle);
}

Result<ReferenceBundle> parse_reference_bundle(std::string_view body) {
    if (body.size() > max_reference_bundle_bytes) {
        return bundle_error("larger than " + std::to_string(max_reference_bundle_bytes) + " bytes");
    }
    boost::system::error_code ec;
    json::value value = json::parse(body, ec);
    if (ec) return bundle_error("not valid JSON (" + ec.message() + "); it may be cut short");
    if (!value.is_object()) return bundle_error("not a JSON object");
    json::object& object = value.get_object();
    static constexpr std::string_view members[] = {"format",     "version",   "published_ms",
                                                   "device_id",  "standards", "sites",
                                                   "complaints", "sha256"};
    for (const auto& member : object) {
        if (std::find(std::begin(members), std::end(members), member.key()) == std::end(members)) {
            return bundle_error("unknown member " + in_quotes(member.key()));
        }
    }
    auto format = int_member(object, "format");
    if (!format) return bundle_error("format: missing or not an integer");
    if (*format != reference_bundle_format) {
        return bundle_error("format " + std::to_string(*format) +
                            " is not one this device reads (" +
                            std::to_string(reference_bundle_format) + ")");
    }
    const json::value* sent = object.if_contains("sha256");
    Sha256 sent_hash{};
    if (sent == nullptr || !sent->is_string() || sent->get_string().size() != 64 ||
        !from_hex(std::string_view(sent->get_string()), sent_hash)) {
        return bundle_error("sha256: missing or not 64 hex digits");
    }
    ReferenceBundle bundle;
    bundle.sha256 = to_hex(sent_hash);
    object.erase("sha256");
    std::string computed = to_hex(sha256(canonical_json(object)));
    if (computed != bundle.sha256) {
        return bundle_error("its SHA-256 is " + computed + ", not the " + bundle.sha256 +
                            " it names: it was altered or cut short");
    }
    auto version = int_member(object, "version");
    if (!version || *version < 1) return bundle_error("version: expected a positive integer");
    auto published = int_member(object, "published_ms");
    if (!published) return bundle_error("published_ms: expected an integer");
    const json::value* device = object.if_contains("device_id");
    if (device == nullptr || !device->is_string() || !valid_device_id(device->get_string())) {
        return bundle_error("device_id: expected a device id");
    }
    auto set = set_from_object(object, false, "reference bundle");
    if (!set) return set.error();
    bundle.version = *version;
    bundle.published_ms = *published;
    bundle.device_id = std::string(device->get_string());
    bundle.set = std::move(*set);
    return bundle;
}

}  // namespace fieldlog::config
