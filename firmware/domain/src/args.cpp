#include "fieldlog/domain/args.hpp"

#include <algorithm>
#include <cmath>

namespace fieldlog::domain {

namespace json = boost::json;

namespace {

std::string_view kind_name(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            return "null";
        case json::kind::bool_:
            return "a boolean";
        case json::kind::int64:
        case json::kind::uint64:
            return "an integer";
        case json::kind::double_:
            return "a number";
        case json::kind::string:
            return "a string";
        case json::kind::array:
            return "an array";
        case json::kind::object:
            return "an object";
    }
    return "a value";
}

std::string trim(std::string_view s) {
    auto begin = s.find_first_not_of(" \t\r\n");
    if (begin == std::string_view::npos) return {};
    auto end = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(begin, end - begin + 1));
}

bool has_control_chars(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t';
    });
}

}  // namespace

Result<Args> Args::check(std::string_view op, const json::object& args,
                         std::initializer_list<std::string_view> allowed) {
    for (const auto& member : args) {
        std::string_view key = member.key();
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            std::string list;
            for (auto a : allowed) {
                list += list.empty() ? "" : ", ";
                list += a;
            }
            return Error(Errc::invalid_argument,
                         std::string(op) + ": unknown argument '" + std::string(key) + "'" +
                             (list.empty() ? " (it takes none)" : " (it takes " + list + ")"));
        }
    }
    return Args(op, args);
}

Error Args::error(std::string_view key, std::string_view what) const {
    return Error(Errc::invalid_argument, op_ + ": " + std::string(key) + ": " + std::string(what));
}

const json::value* Args::find(std::string_view key) const {
    const json::value* v = args_->if_contains(key);
    return v == nullptr || v->is_null() ? nullptr : v;
}

Result<std::optional<std::string>> Args::opt_text(std::string_view key,
                                                  std::size_t max_length) const {
    const json::value* v = find(key);
    if (v == nullptr) return std::optional<std::string>();
    if (!v->is_string()) {
        return error(key, "expected a string, got " + std::string(kind_name(*v)));
    }
    std::string s = trim(v->get_string());
    if (s.size() > max_length) {
        return error(key, "longer than " + std::to_string(max_length) + " bytes");
    }
    if (has_control_chars(s)) {
        return error(key, "contains control characters");
    }
    return std::optional(std::move(s));
}

Result<std::string> Args::text(std::string_view key, std::size_t max_length) const {
    auto s = opt_text(key, max_length);
    if (!s) return s.error();
    if (!*s || (*s)->empty()) return error(key, "required");
    return std::move(**s);
}

Result<std::optional<double>> Args::opt_number(std::string_view key) const {
    const json::value* v = find(key);
    if (v == nullptr) return std::optional<double>();
    if (!v->is_number()) {
        return error(key, "expected a number, got " + std::string(kind_name(*v)));
    }
    double d = v->to_number<double>();
    if (!std::isfinite(d)) return error(key, "not a finite number");
    return std::optional(d);
}

Result<double> Args::number(std::string_view key) const {
    auto d = opt_number(key);
    if (!d) return d.error();
    if (!*d) return error(key, "required");
    return **d;
}

Result<std::optional<std::int64_t>> Args::opt_integer(std::string_view key) const {
    const json::value* v = find(key);
    if (v == nullptr) return std::optional<std::int64_t>();
    if (v->is_int64()) return std::optional(v->get_int64());
    if (v->is_uint64()) {
        if (v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
            return std::optional(static_cast<std::int64_t>(v->get_uint64()));
        }
        return error(key, "integer " + std::to_string(v->get_uint64()) + " is out of range");
    }
    if (v->is_double() && std::trunc(v->get_double()) == v->get_double() &&
        std::fabs(v->get_double()) < 9e15) {
        return std::optional(static_cast<std::int64_t>(v->get_double()));
    }
    return error(key, "expected an integer, got " + std::string(kind_name(*v)));
}

Result<std::int64_t> Args::integer(std::string_view key) const {
    auto n = opt_integer(key);
    if (!n) return n.error();
    if (!*n) return error(key, "required");
    return **n;
}

Result<std::optional<bool>> Args::opt_boolean(std::string_view key) const {
    const json::value* v = find(key);
    if (v == nullptr) return std::optional<bool>();
    if (!v->is_bool()) {
        return error(key, "expected true or false, got " + std::string(kind_name(*v)));
    }
    return std::optional(v->get_bool());
}

Result<std::vector<std::string>> Args::text_list(std::string_view key, std::size_t max_items,
                                                 std::size_t max_length) const {
    const json::value* v = find(key);
    std::vector<std::string> out;
    if (v == nullptr) return out;
    if (!v->is_array()) {
        return error(key, "expected an array of strings, got " + std::string(kind_name(*v)));
    }
    if (v->get_array().size() > max_items) {
        return error(key, "more than " + std::to_string(max_items) + " entries");
    }
    for (const json::value& item : v->get_array()) {
        if (!item.is_string()) {
            return error(key, "expected strings only, found " + std::string(kind_name(item)));
        }
        std::string s = trim(item.get_string());
        if (s.empty()) return error(key, "an entry is empty");
        if (s.size() > max_length) {
            return error(key, "an entry is longer than " + std::to_string(max_length) + " bytes");
        }
        if (has_control_chars(s)) return error(key, "an entry contains control characters");
        out.push_back(std::move(s));
    }
    return out;
}

Result<std::optional<std::string>> Args::opt_choice(
    std::string_view key, std::span<const std::string_view> choices) const {
    auto s = opt_text(key, 64);
    if (!s) return s.error();
    if (!*s) return s;
    if (std::find(choices.begin(), choices.end(), **s) == choices.end()) {
        std::string list;
        for (auto c : choices) {
            list += list.empty() ? "" : ", ";
            list += c;
        }
        return error(key, "'" + **s + "' is not one of " + list);
    }
    return s;
}

Status check_identifier(std::string_view what, std::string_view value) {
    if (value.empty() || value.size() > 64) {
        return Error(Errc::invalid_argument,
                     std::string(what) + ": must be 1 to 64 characters long");
    }
    if (value.find("..") != std::string_view::npos || value.find('/') != std::string_view::npos ||
        value.find('\\') != std::string_view::npos) {
        return Error(Errc::invalid_argument, std::string(what) + ": '" + std::string(value) +
                                                 "' contains a path separator or '..'");
    }
    for (char c : value) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            return Error(Errc::invalid_argument,
                         std::string(what) + ": '" + std::string(value) +
                             "' may hold only letters, digits, '.', '_' and '-'");
        }
    }
    return {};
}

}  // namespace fieldlog::domain
