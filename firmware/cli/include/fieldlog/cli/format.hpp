// Turns a daemon result into what the inspector reads: aligned tables for lists, a block of
// fields for one record, and CSV for exports.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace fieldlog::cli {

// Text for the result of op (a docs/protocol.md operation); fields missing from the result are
// shown as "-", so an older or newer daemon never makes this fail.
std::string format_human(std::string_view op, const boost::json::object& result);

// JSON for --json and JSON exports: indented by two spaces, numbers in their shortest exact form
// ("75", "32.0415") where Boost.JSON would write "7.5E1", "3.20415E1"; ends with a newline.
std::string json_text(const boost::json::value& value);

// The progress line `sync --wait` shows from a `status` result: "syncing: 120 records
// (47.1 KiB) left", with the state and next attempt when sync is backing off.
std::string sync_progress_line(const boost::json::object& status);

// Whether a `verify` result reports a broken evidence chain.
bool verify_found_problems(const boost::json::object& result);

// An `export` result as CSV: one section per record kind (inspections, measurements, photos,
// marks, complaints, document batches, rectifications), each a header row and its records, sections
// separated by an empty line. Every row starts with the kind of its record ("record" in the
// header), so a section can be told apart and rows filtered without reading the layout. Times are
// UTC ISO text; lists are joined with "; ".
std::string format_export_csv(const boost::json::object& result);

// One field quoted as RFC 4180 requires: in double quotes, with quotes doubled, when it holds a
// comma, a quote, CR or LF.
std::string csv_field(std::string_view text);

}  // namespace fieldlog::cli
