// Building blocks of the CLI's human output: reading reply fields defensively, numbers, sizes
// and durations for people, and column-aligned tables.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fieldlog::cli::text {

// Shown for a null or missing value.
inline constexpr std::string_view none = "-";

// Any field as one line of text: strings sanitised, numbers for people, arrays joined with ", ",
// null or missing as "-". A reply from a newer daemon may lack fields; that is never an error.
std::string field(const boost::json::object& object, std::string_view key);
// An *_ms field as UTC ISO text, or "-".
std::string time_field(const boost::json::object& object, std::string_view key);
std::optional<double> number(const boost::json::object& object, std::string_view key);
std::optional<std::int64_t> integer(const boost::json::object& object, std::string_view key);
bool flag(const boost::json::object& object, std::string_view key);
// The named member when it is an object or array; an empty one otherwise.
const boost::json::object& object_at(const boost::json::object& object, std::string_view key);
const boost::json::array& array_at(const boost::json::object& object, std::string_view key);

// At most six significant digits, no trailing zeros: "75", "0.5", "8.25".
std::string number_text(double value);
// The same with a sign always shown: "+12", "-0.5".
std::string signed_number_text(double value);
// A ratio as a percentage with one decimal: 0.5 -> "50.0%"; with sign -> "+50.0%".
std::string percent_text(double ratio, bool with_sign);
std::string bytes_text(std::int64_t bytes);       // "812 B", "1.2 MiB"
std::string duration_text(std::int64_t seconds);  // "42 s", "3 h 12 min", "2 d 3 h"

// Replaces control characters (which could move the cursor or recolour a terminal) with a
// space and invalid UTF-8 with U+FFFD.
std::string sanitise(std::string_view text);
// Terminal columns: East Asian wide characters take two, combining marks none.
std::size_t display_width(std::string_view utf8);

struct Column {
    std::string title;
    bool right_aligned = false;
};

class Table {
public:
    explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
    void add(std::vector<std::string> cells);
    bool empty() const { return rows_.empty(); }
    // Title row, then a row per add(); columns two spaces apart, no trailing blanks.
    std::string render() const;

private:
    std::vector<Column> columns_;
    std::vector<std::vector<std::string>> rows_;
};

// "key   value" lines with the values aligned; an empty value is left out.
std::string key_values(const std::vector<std::pair<std::string, std::string>>& rows,
                       std::string_view indent = "  ");

}  // namespace fieldlog::cli::text
