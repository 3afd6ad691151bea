// Reference data as the office publishes it and a device downloads it (docs/sync-protocol.md):
// the sites and standards of reference.hpp plus the complaint cases assigned to devices, read
// from the office's TOML files, kept as JSON by the server, and sent to each device as a
// versioned bundle with a SHA-256. Every form is checked by the same readers as the device's own
// sites.toml and standards/*.toml.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fieldlog/config/reference.hpp"
#include "fieldlog/error.hpp"

namespace fieldlog::config {

// A complaint case the inspection team hands to a device before the visit ([[complaint]] in
// the assignments file).
struct AssignedComplaint {
    std::string case_number;  // as complaint.add takes it: 1 to 64 of A-Z a-z 0-9 . _ -
    std::int64_t batch_number = 0;
    std::string summary;
    std::optional<std::int64_t> received_ms;  // when the team received it, if known
    std::string responsible_unit;
    std::string site_id;  // empty when the case names no site
    // The devices that get the case; only in the office's copy (a device's bundle holds its
    // own cases without the list).
    std::vector<std::string> devices;
};

// One published version: everything a device applies at once.
struct ReferenceSet {
    ReferenceData data;
    std::vector<AssignedComplaint> complaints;  // ordered by case number
};

// A file handed to the office for publishing.
struct SourceFile {
    std::string name;  // how messages call it, e.g. "area/sites.toml"
    std::string text;
};

inline constexpr std::size_t max_reference_file_bytes = std::size_t{4} * 1024 * 1024;
// The largest bundle a device accepts.
inline constexpr std::size_t max_reference_bundle_bytes = std::size_t{8} * 1024 * 1024;
inline constexpr std::int64_t reference_bundle_format = 1;

// Reads the office's TOML files: any number of standards files ([[class]] tables), exactly one
// sites file ([[site]]) and at most one assignments file ([[complaint]]), told apart by the
// tables they hold, not by their names. Fails listing every problem, one per line, as
// "file:line:column: key: reason".
[[nodiscard]] Result<ReferenceSet> parse_reference_files(std::span<const SourceFile> files);

// The set as canonical JSON: {"complaints": [...], "sites": [...], "standards": [...]}, each
// entry with the keys its TOML table has (limits in canonical units, dates as UTC times).
std::string reference_set_json(const ReferenceSet& set);

// Reads reference_set_json's form back, checked as the files are. with_devices: complaints
// carry their device lists (the office's copy); else a list is refused (a device's bundle).
[[nodiscard]] Result<ReferenceSet> parse_reference_set_json(std::string_view text,
                                                            bool with_devices);

// A bundle as one device receives it.
struct ReferenceBundle {
    std::int64_t version = 0;
    std::int64_t published_ms = 0;
    std::string device_id;
    ReferenceSet set;    // the device's own complaint cases only, without device lists
    std::string sha256;  // hex, over the canonical JSON of every other member
};

// The body of GET /v1/devices/{device_id}/reference: the set with only the cases assigned to
// device_id, the version, and the SHA-256 of the canonical JSON of the rest of the object.
std::string make_reference_bundle(std::int64_t version, std::int64_t published_ms,
                                  const std::string& device_id, const ReferenceSet& set);

// Checks a bundle as the device receives it, trusting nothing: the JSON shape, the format,
// the hash, and every entry by the same rules as the files. Errc::invalid_argument says what
// is wrong.
[[nodiscard]] Result<ReferenceBundle> parse_reference_bundle(std::string_view body);

}  // namespace fieldlog::config
