#include "text.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>

#include "fieldlog/clock.hpp"

namespace fieldlog::cli::text {

namespace json = boost::json;

namespace {

const json::value* member(const json::object& object, std::string_view key) {
    const json::value* value = object.if_contains(key);
    return value == nullptr || value->is_null() ? nullptr : value;
}

std::string value_text(const json::value& value) {
    switch (value.kind()) {
        case json::kind::null:
            return std::string(none);
        case json::kind::bool_:
            return value.get_bool() ? "yes" : "no";
        case json::kind::int64:
            return std::to_string(value.get_int64());
        case json::kind::uint64:
            return std::to_string(value.get_uint64());
        case json::kind::double_:
            return number_text(value.get_double());
        case json::kind::string:
            return sanitise(value.get_string());
        case json::kind::array: {
            std::string out;
            for (const auto& item : value.get_array()) {
                if (!out.empty()) out += ", ";
                out += value_text(item);
            }
            return out.empty() ? std::string(none) : out;
        }
        case json::kind::object:
            return sanitise(json::serialize(value));
    }
    return std::string(none);
}

std::string formatted(double value, int precision, std::chars_format format, bool with_sign) {
    std::array<char, 64> buffer{};
    char* begin = buffer.data();
    if (with_sign && value >= 0) *begin++ = '+';
    auto [end, ec] = std::to_chars(begin, buffer.data() + buffer.size(), value, format, precision);
    if (ec != std::errc()) return "?";
    return std::string(buffer.data(), end);
}

// Decodes one UTF-8 sequence at text[i]; returns the code point and advances i, or returns
// nothing (and advances one byte) for an invalid sequence.
std::optional<char32_t> decode(std::string_view text, std::size_t& i) {
    auto byte = [&](std::size_t at) { return static_cast<unsigned char>(text[at]); };
    unsigned char lead = byte(i);
    if (lead < 0x80) {
        ++i;
        return lead;
    }
    std::size_t length = lead >= 0xf0 && lead <= 0xf4   ? 4
                         : lead >= 0xe0 && lead <= 0xef ? 3
                         : lead >= 0xc2 && lead <= 0xdf ? 2
                                                        : 0;
    if (length == 0 || i + length > text.size()) {
        ++i;
        return std::nullopt;
    }
    char32_t code = lead & (0x7f >> length);
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xc0) != 0x80) {
            ++i;
            return std::nullopt;
        }
        code = (code << 6) | (byte(i + k) & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr std::array<char32_t, 5> min_for_length{0, 0, 0x80, 0x800, 0x10000};
    if (code < min_for_length[length] || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) {
        ++i;
        return std::nullopt;
    }
    i += length;
    return code;
}

bool is_control(char32_t code) { return code < 0x20 || (code >= 0x7f && code <= 0x9f); }

std::size_t code_width(char32_t c) {
    if ((c >= 0x300 && c <= 0x36f) || c == 0x200b || (c >= 0xfe00 && c <= 0xfe0f)) return 0;
    bool wide = (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0x303e) ||
                (c >= 0x3041 && c <= 0x33ff) || (c >= 0x3400 && c <= 0x4dbf) ||
                (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa000 && c <= 0xa4cf) ||
                (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
                (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
                (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
                (c >= 0x20000 && c <= 0x3fffd);
    return wide ? 2 : 1;
}

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xc0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xe0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (c & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (c & 0x3f));
    }
}

std::string pad(const std::string& cell, std::size_t width, bool right) {
    std::size_t used = display_width(cell);
    std::string fill(width > used ? width - used : 0, ' ');
    return right ? fill + cell : cell + fill;
}

}  // namespace

std::string field(const json::object& object, std::string_view key) {
    const json::value* value = member(object, key);
    return value == nullptr ? std::string(none) : value_text(*value);
}

std::string time_field(const json::object& object, std::string_view key) {
    auto ms = integer(object, key);
    return ms ? format_utc_ms(*ms) : std::string(none);
}

std::optional<double> number(const json::object& object, std::string_view key) {
    const json::value* value = member(object, key);
    if (value == nullptr || !value->is_number()) return std::nullopt;
    return value->to_number<double>();
}

std::optional<std::int64_t> integer(const json::object& object, std::string_view key) {
    const json::value* value = member(object, key);
    if (value == nullptr) return std::nullopt;
    if (value->is_int64()) return value->get_int64();
    if (value->is_uint64() && value->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        return static_cast<std::int64_t>(value->get_uint64());
    }
    if (value->is_double() && std::fabs(value->get_double()) < 9e15) {
        return static_cast<std::int64_t>(std::llround(value->get_double()));
    }
    return std::nullopt;
}

bool flag(const json::object& object, std::string_view key) {
    const json::value* value = member(object, key);
    return value != nullptr && value->is_bool() && value->get_bool();
}

const json::object& object_at(const json::object& object, std::string_view key) {
    static const json::object empty;
    const json::value* value = member(object, key);
    return value != nullptr && value->is_object() ? value->get_object() : empty;
}

const json::array& array_at(const json::object& object, std::string_view key) {
    static const json::array empty;
    const json::value* value = member(object, key);
    return value != nullptr && value->is_array() ? value->get_array() : empty;
}

std::string number_text(double value) {
    return formatted(value, 6, std::chars_format::general, false);
}

std::string signed_number_text(double value) {
    return formatted(value, 6, std::chars_format::general, true);
}

std::string percent_text(double ratio, bool with_sign) {
    return formatted(ratio * 100, 1, std::chars_format::fixed, with_sign) + "%";
}

std::string bytes_text(std::int64_t bytes) {
    if (bytes < 1024) return std::to_string(bytes) + " B";
    static constexpr std::array<std::string_view, 4> units{"KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    for (value /= 1024; value >= 1024 && unit + 1 < units.size(); value /= 1024) ++unit;
    return formatted(value, 1, std::chars_format::fixed, false) + " " + std::string(units[unit]);
}

std::string duration_text(std::int64_t seconds) {
    if (seconds < 60) return std::to_string(seconds) + " s";
    std::int64_t minutes = seconds / 60;
    if (minutes < 60)
        return std::to_string(minutes) + " min " + std::to_string(seconds % 60) + " s";
    std::int64_t hours = minutes / 60;
    if (hours < 24) return std::to_string(hours) + " h " + std::to_string(minutes % 60) + " min";
    return std::to_string(hours / 24) + " d " + std::to_string(hours % 24) + " h";
}

std::string sanitise(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        auto code = decode(text, i);
        if (!code) {
            out += "\xef\xbf\xbd";
        } else if (is_control(*code)) {
            out += ' ';
        } else {
            append_utf8(out, *code);
        }
    }
    return out;
}

std::size_t display_width(std::string_view utf8) {
    std::size_t width = 0;
    for (std::size_t i = 0; i < utf8.size();) {
        auto code = decode(utf8, i);
        width += code ? code_width(*code) : 1;
    }
    return width;
}

void Table::add(std::vector<std::string> cells) {
    cells.resize(columns_.size());
    rows_.push_back(std::move(cells));
}

std::string Table::render() const {
    std::vector<std::size_t> widths;
    for (const auto& column : columns_) widths.push_back(display_width(column.title));
    for (const auto& row : rows_) {
        for (std::size_t c = 0; c < row.size(); ++c) {
            widths[c] = std::max(widths[c], display_width(row[c]));
        }
    }
    auto line = [&](auto cell_at) {
        std::string out;
        for (std::size_t c = 0; c < columns_.size(); ++c) {
            if (c > 0) out += "  ";
            out += pad(cell_at(c), widths[c], columns_[c].right_aligned);
        }
        out.erase(out.find_last_not_of(' ') + 1);
        return out + "\n";
    };
    std::string out = line([&](std::size_t c) { return columns_[c].title; });
    for (const auto& row : rows_) {
        out += line([&](std::size_t c) { return row[c]; });
    }
    return out;
}

std::string key_values(const std::vector<std::pair<std::string, std::string>>& rows,
                       std::string_view indent) {
    std::size_t width = 0;
    for (const auto& [key, value] : rows) {
        if (!value.empty()) width = std::max(width, display_width(key));
    }
    std::string out;
    for (const auto& [key, value] : rows) {
        if (value.empty()) continue;
        out += std::string(indent) + pad(key, width, false) + "  " + value + "\n";
    }
    return out;
}

}  // namespace fieldlog::cli::text
