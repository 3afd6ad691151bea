#include "toml_reader.hpp"

#include <algorithm>
#include <chrono>

#include "fieldlog/clock.hpp"

namespace fieldlog::config::detail {

std::string Diagnostics::location(const toml::source_region& where) const {
    std::string out = source_;
    if (where.begin.line > 0) {
        out += ":" + std::to_string(where.begin.line);
        if (where.begin.column > 0) out += ":" + std::to_string(where.begin.column);
    }
    return out;
}

void Diagnostics::error(const toml::source_region& where, std::string_view key,
                        std::string_view reason) {
    std::string message = location(where) + ": ";
    if (!key.empty()) message += std::string(key) + ": ";
    messages_.push_back(message + std::string(reason));
}

void Diagnostics::error(std::string_view key, std::string_view reason) {
    error(toml::source_region{}, key, reason);
}

Error Diagnostics::to_error() const { return Error(Errc::invalid_argument, join(messages_, "\n")); }

std::optional<toml::table> parse_document(std::string_view text, Diagnostics& diag) {
    try {
        return toml::parse(text, diag.source());
    } catch (const toml::parse_error& e) {
        diag.error(e.source(), "", "syntax error: " + std::string(e.description()));
        return std::nullopt;
    }
}

std::string type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a floating-point number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string join(const std::vector<std::string>& items, std::string_view separator) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += separator;
        out += item;
    }
    return out;
}

TableReader::TableReader(const toml::table& table, std::string path, Diagnostics& diag)
    : table_(&table), path_(std::move(path)), diag_(&diag) {}

std::string TableReader::key_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const toml::source_region& TableReader::where(std::string_view key) const {
    auto it = table_->find(key);
    return it == table_->end() ? table_->source() : it->first.source();
}

void TableReader::error(std::string_view key, std::string_view reason) {
    diag_->error(where(key), key_path(key), reason);
}

void TableReader::error(std::string_view reason) { diag_->error(table_->source(), path_, reason); }

const toml::node* TableReader::take(std::string_view key, bool required) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
        known_.emplace_back(key);
    }
    const toml::node* node = table_->get(key);
    if (node == nullptr && required) error(key, "missing required key");
    return node;
}

void TableReader::wrong_type(std::string_view key, std::string_view expected,
                             const toml::node& found) {
    error(key, "expected " + std::string(expected) + ", got " + type_name(found));
}

std::optional<std::string> TableReader::string(std::string_view key, bool required) {
    const toml::node* node = take(key, required);
    if (node == nullptr) return std::nullopt;
    if (const auto* value = node->as_string()) return value->get();
    wrong_type(key, "a string", *node);
    return std::nullopt;
}

std::optional<std::int64_t> TableReader::integer(std::string_view key, std::int64_t min,
                                                 std::int64_t max, bool required) {
    const toml::node* node = take(key, required);
    if (node == nullptr) return std::nullopt;
    std::string expected = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
    const auto* value = node->as_integer();
    if (value == nullptr) {
        wrong_type(key, expected, *node);
        return std::nullopt;
    }
    if (value->get() < min || value->get() > max) {
        error(key, "expected " + expected + ", got " + std::to_string(value->get()));
        return std::nullopt;
    }
    return value->get();
}

std::optional<double> TableReader::number(std::string_view key, bool required) {
    const toml::node* node = take(key, required);
    if (node == nullptr) return std::nullopt;
    if (const auto* value = node->as_floating_point()) return value->get();
    if (const auto* value = node->as_integer()) return static_cast<double>(value->get());
    wrong_type(key, "a number", *node);
    return std::nullopt;
}

std::optional<std::int64_t> TableReader::date_ms(std::string_view key, bool required) {
    const toml::node* node = take(key, required);
    if (node == nullptr) return std::nullopt;
    static constexpr std::string_view expected = "a date such as 2004-03-01";
    if (const auto* value = node->as_date()) {
        using namespace std::chrono;
        const toml::date& d = value->get();
        year_month_day ymd{year(d.year), month(d.month), day(d.day)};
        if (!ymd.ok()) {
            error(key, "expected " + std::string(expected) + ", got an impossible date");
            return std::nullopt;
        }
        return duration_cast<milliseconds>(sys_days(ymd).time_since_epoch()).count();
    }
    if (const auto* value = node->as_string()) {
        if (auto ms = parse_time_ms(value->get())) return ms;
        error(key, "expected " + std::string(expected) + ", got " + in_quotes(value->get()));
        return std::nullopt;
    }
    wrong_type(key, expected, *node);
    return std::nullopt;
}

std::optional<std::int64_t> TableReader::time_ms(std::string_view key, bool required) {
    const toml::node* node = take(key, required);
    if (node == nullptr) return std::nullopt;
    static constexpr std::string_view expected = "a time such as 2026-11-20T09:15:00+08:00";
    const toml::date* d = nullptr;
    const toml::time* t = nullptr;
    std::int64_t offset_minutes = 0;
    if (const auto* value = node->as_date_time()) {
        d = &value->get().date;
        t = &value->get().time;
        if (value->get().offset) offset_minutes = value->get().offset->minutes;
    } else if (const auto* day = node->as_date()) {
        d = &day->get();
    } else if (const auto* text = node->as_string()) {
        if (auto ms = parse_time_ms(text->get())) return ms;
        error(key, "expected " + std::string(expected) + ", got " + in_quotes(text->get()));
        return std::nullopt;
    } else {
        wrong_type(key, expected, *node);
        return std::nullopt;
    }
    using namespace std::chrono;
    year_month_day ymd{year(d->year), month(d->month), day(d->day)};
    if (!ymd.ok()) {
        error(key, "expected " + std::string(expected) + ", got an impossible date");
        return std::nullopt;
    }
    std::int64_t ms = duration_cast<milliseconds>(sys_days(ymd).time_since_epoch()).count();
    if (t != nullptr) {
        ms += ((std::int64_t{t->hour} * 60 + t->minute) * 60 + t->second) * 1000 +
              std::int64_t{t->nanosecond} / 1'000'000;
    }
    return ms - offset_minutes * 60 * 1000;
}

std::optional<std::vector<std::string>> TableReader::strings(std::string_view key, bool required) {
    const toml::node* node = take(key, required);
    if (node == nullptr) return std::nullopt;
    const auto* array = node->as_array();
    if (array == nullptr) {
        wrong_type(key, "an array of strings", *node);
        return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (const toml::node& element : *array) {
        if (const auto* text = element.as_string()) {
            out.push_back(text->get());
        } else {
            diag_->error(element.source(), key_path(key),
                         "expected a string, got " + type_name(element));
            ok = false;
        }
    }
    if (!ok) return std::nullopt;
    return out;
}

std::optional<std::filesystem::path> TableReader::path(std::string_view key,
                                                       const std::filesystem::path& base_dir,
                                                       bool required) {
    auto text = string(key, required);
    if (!text) return std::nullopt;
    if (text->empty()) {
        error(key, "expected a path, got an empty string");
        return std::nullopt;
    }
    if (text->find('\0') != std::string::npos) {
        error(key, "a path cannot contain a NUL character");
        return std::nullopt;
    }
    std::filesystem::path path(*text);
    if (path.is_relative()) path = base_dir / path;
    return path.lexically_normal();
}

std::vector<const toml::table*> TableReader::tables(std::string_view key, bool required) {
    std::vector<const toml::table*> out;
    const toml::node* node = take(key, required);
    if (node == nullptr) return out;
    const auto* array = node->as_array();
    if (array == nullptr) {
        wrong_type(key, "an array of tables", *node);
        return out;
    }
    for (const toml::node& element : *array) {
        if (const auto* table = element.as_table()) {
            out.push_back(table);
        } else {
            diag_->error(element.source(), key_path(key),
                         "expected a table, got " + type_name(element));
        }
    }
    return out;
}

TableReader TableReader::child(std::string_view key) {
    static const toml::table empty;
    const toml::node* node = take(key, false);
    if (node != nullptr) {
        if (const auto* table = node->as_table()) return TableReader(*table, key_path(key), *diag_);
        wrong_type(key, "a table", *node);
    }
    return TableReader(empty, key_path(key), *diag_);
}

void TableReader::finish() {
    for (auto&& [key, node] : *table_) {
        if (std::find(known_.begin(), known_.end(), key.str()) != known_.end()) continue;
        std::string what = node.is_table() ? "unknown table" : "unknown key";
        diag_->error(key.source(), key_path(key.str()),
                     what + "; expected one of: " + join(known_, ", "));
    }
}

}  // namespace fieldlog::config::detail
