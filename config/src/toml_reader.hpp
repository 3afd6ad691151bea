// Reading TOML with messages an administrator can act on: every problem carries
// "file:line:column: key: reason", and keys nobody asked for are reported, not ignored.
// Private to fieldlog_config so that toml++ stays out of the public headers.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fieldlog/error.hpp"

namespace fieldlog::config::detail {

// Collects every problem found, so that one run of the loader lists all of them.
class Diagnostics {
public:
    void set_source(std::string source) { source_ = std::move(source); }
    const std::string& source() const { return source_; }

    // "sites.toml:12:1", or just the file when toml++ knows no position.
    std::string location(const toml::source_region& where) const;
    void error(const toml::source_region& where, std::string_view key, std::string_view reason);
    // For problems that belong to the file as a whole.
    void error(std::string_view key, std::string_view reason);

    bool ok() const { return messages_.empty(); }
    // One line per problem, in the order found.
    Error to_error() const;

private:
    std::string source_;
    std::vector<std::string> messages_;
};

// Parses a whole document; a syntax error is reported with toml++'s position and description.
std::optional<toml::table> parse_document(std::string_view text, Diagnostics& diag);

// "a string", "an integer", ...
std::string type_name(const toml::node& node);

std::string in_quotes(std::string_view text);
std::string join(const std::vector<std::string>& items, std::string_view separator);

// Reads one table. Each getter marks its key as known; finish() then reports every key in the
// table that no getter asked for, so a misspelt key fails instead of silently taking a default.
// Getters return nothing when the key is absent (reported if required) or malformed (reported).
class TableReader {
public:
    // path is the dotted name of the table ("control", "site.permit_limits"); empty for the root.
    TableReader(const toml::table& table, std::string path, Diagnostics& diag);

    std::optional<std::string> string(std::string_view key, bool required = false);
    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max,
                                        bool required = false);
    // An integer or a float; integers are what people write for "max = 50".
    std::optional<double> number(std::string_view key, bool required = false);
    // A TOML date (2004-03-01) or a string that parse_time_ms accepts; midnight UTC for a date.
    std::optional<std::int64_t> date_ms(std::string_view key, bool required = false);
    // A moment: a TOML date-time (a local one is read as UTC), a date (midnight UTC) or a string
    // that parse_time_ms accepts.
    std::optional<std::int64_t> time_ms(std::string_view key, bool required = false);
    // An array of strings.
    std::optional<std::vector<std::string>> strings(std::string_view key, bool required = false);
    // A non-empty string naming a path; a relative one is taken against base_dir.
    std::optional<std::filesystem::path> path(std::string_view key,
                                              const std::filesystem::path& base_dir,
                                              bool required = false);
    // The elements of an array of tables, each checked to be a table.
    std::vector<const toml::table*> tables(std::string_view key, bool required = false);
    // A sub-table; an empty one when absent, so its required keys are reported by name.
    TableReader child(std::string_view key);

    void finish();

    // Reports a problem with the value of a key already read.
    void error(std::string_view key, std::string_view reason);
    // Reports a problem with the table as a whole, at its start.
    void error(std::string_view reason);
    std::string key_path(std::string_view key) const;
    const toml::source_region& where(std::string_view key) const;
    const toml::source_region& where() const { return table_->source(); }
    Diagnostics& diagnostics() { return *diag_; }

private:
    const toml::node* take(std::string_view key, bool required);
    void wrong_type(std::string_view key, std::string_view expected, const toml::node& found);

    const toml::table* table_;
    std::string path_;
    Diagnostics* diag_;
    std::vector<std::string> known_;
};

}  // namespace fieldlog::config::detail
