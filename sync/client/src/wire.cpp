#include "wire.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "fieldlog/digest.hpp"

namespace fieldlog::sync::client::wire {

namespace json = boost::json;

namespace {

json::object entry_json(const store::OutboxEntry& e, const Withheld* withheld) {
    const store::ChainEntry& c = e.entry;
    json::object out{
        {"seq", c.seq},
        {"kind", c.kind},
        {"record_id", c.record_id},
        {"action", c.action},
        {"payload_hash", to_hex(c.payload_hash)},
        {"prev_hash", to_hex(c.prev_hash)},
        {"entry_hash", to_hex(c.entry_hash)},
        {"device_time_ms", c.device_time_ms},
    };
    out["gnss_time_ms"] = c.gnss_time_ms ? json::value(*c.gnss_time_ms) : json::value(nullptr);
    if (withheld != nullptr) {
        out["payload"] = nullptr;
        out["withheld"] = json::object{{"code", withheld->code}, {"message", withheld->message}};
    } else {
        out["payload"] = e.payload;
    }
    return out;
}

std::optional<json::object> parse_object(std::string_view body) {
    boost::system::error_code ec;
    // Replies are small; the depth limit keeps a hostile nesting from costing stack.
    json::parse_options options;
    options.max_depth = 16;
    json::value value = json::parse(body, ec, {}, options);
    if (ec || !value.is_object()) return std::nullopt;
    return std::move(value.get_object());
}

// A JSON integer that fits int64 and is not negative; doubles such as 5.0 are not integers.
std::optional<std::int64_t> non_negative(const json::value* v) {
    if (v == nullptr) return std::nullopt;
    if (v->is_int64() && v->get_int64() >= 0) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        return static_cast<std::int64_t>(v->get_uint64());
    }
    return std::nullopt;
}

const json::value* member(const json::object& a, const json::object* b, std::string_view key) {
    if (const json::value* v = a.if_contains(key)) return v;
    return b != nullptr ? b->if_contains(key) : nullptr;
}

}  // namespace

std::string batch_body(const store::PublicKey& public_key, Pending pending,
                       const std::vector<store::OutboxEntry>& entries,
                       const std::map<std::int64_t, Withheld>& withheld,
                       const store::Signature& head_signature) {
    json::array list;
    list.reserve(entries.size());
    for (const auto& e : entries) {
        auto it = withheld.find(e.entry.seq);
        list.push_back(entry_json(e, it == withheld.end() ? nullptr : &it->second));
    }
    json::object head;
    if (!entries.empty()) {
        head = json::object{{"seq", entries.back().entry.seq},
                            {"entry_hash", to_hex(entries.back().entry.entry_hash)},
                            {"signature", to_hex(head_signature)}};
    }
    json::object body{
        {"public_key", to_hex(public_key)},
        {"pending", json::object{{"entries", pending.entries}, {"bytes", pending.bytes}}},
        {"entries", std::move(list)},
        {"head", std::move(head)}};
    return json::serialize(body);
}

std::optional<ServerError> parse_error(std::string_view body) {
    auto root = parse_object(body);
    if (!root) return std::nullopt;
    const json::value* error = root->if_contains("error");
    if (error == nullptr || !error->is_object()) return std::nullopt;
    const json::object& e = error->get_object();
    const json::value* code = e.if_contains("code");
    if (code == nullptr || !code->is_string() || code->get_string().empty() ||
        code->get_string().size() > 64) {
        return std::nullopt;
    }
    ServerError out;
    out.code = std::string(code->get_string());
    if (const json::value* message = e.if_contains("message"); message && message->is_string()) {
        // A message ends up in the status and the device log: keep it to one readable line.
        std::string text(std::string_view(message->get_string()).substr(0, 512));
        std::replace_if(
            text.begin(), text.end(),
            [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, ' ');
        out.message = std::move(text);
    }
    if (const json::value* acked = member(e, &*root, "acked_seq")) {
        out.acked_seq = non_negative(acked);
        if (!out.acked_seq) return std::nullopt;
    }
    if (const json::value* missing = member(e, &*root, "missing_blobs")) {
        if (!missing->is_array() || missing->get_array().size() > 1000) return std::nullopt;
        for (const json::value& sha : missing->get_array()) {
            if (!sha.is_string() || !valid_sha256_hex(sha.get_string())) return std::nullopt;
            out.missing_blobs.emplace_back(sha.get_string());
        }
    }
    return out;
}

std::optional<std::int64_t> parse_acked_seq(std::string_view body) {
    auto root = parse_object(body);
    if (!root) return std::nullopt;
    return non_negative(root->if_contains("acked_seq"));
}

std::optional<std::uint64_t> parse_byte_count(std::string_view value) {
    if (value.empty() || value.size() > 19) return std::nullopt;
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
    return n;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::int64_t now_wall_ms) {
    if (value.empty()) return std::nullopt;
    if (value.find_first_not_of("0123456789") == std::string_view::npos) {
        auto seconds = parse_byte_count(value);
        // Beyond a day is taken as a day: a server asking for more is wrong, not obeyed forever.
        constexpr std::uint64_t day_s = 86'400;
        if (!seconds)
            return value.size() > 19 ? std::optional(std::chrono::milliseconds(day_s * 1000))
                                     : std::nullopt;
        return std::chrono::milliseconds(std::min(*seconds, day_s) * 1000);
    }
    // IMF-fixdate, the one form RFC 9110 says to send: "Sun, 06 Nov 1994 08:49:37 GMT".
    if (value.size() != 29 || value.substr(3, 2) != ", " || value.substr(25) != " GMT" ||
        value[7] != ' ' || value[11] != ' ' || value[16] != ' ' || value[19] != ':' ||
        value[22] != ':') {
        return std::nullopt;
    }
    static constexpr std::array<std::string_view, 12> months{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    auto month = std::find(months.begin(), months.end(), value.substr(8, 3));
    auto number = [&](std::size_t at, std::size_t len) -> std::optional<unsigned> {
        unsigned n = 0;
        auto text = value.substr(at, len);
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
        return n;
    };
    auto d = number(5, 2), y = number(12, 4), h = number(17, 2), mi = number(20, 2),
         s = number(23, 2);
    if (month == months.end() || !d || !y || !h || !mi || !s || *h > 23 || *mi > 59 || *s > 60) {
        return std::nullopt;
    }
    using namespace std::chrono;
    year_month_day ymd{year(static_cast<int>(*y)),
                       std::chrono::month(static_cast<unsigned>(month - months.begin()) + 1),
                       day(*d)};
    if (!ymd.ok()) return std::nullopt;
    auto at = sys_days(ymd) + hours(*h) + minutes(*mi) + seconds(*s);
    std::int64_t at_ms = duration_cast<milliseconds>(at.time_since_epoch()).count();
    std::int64_t delta = std::clamp<std::int64_t>(at_ms - now_wall_ms, 0, 86'400'000);
    return milliseconds(delta);
}

bool valid_sha256_hex(std::string_view text) {
    return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::optional<std::string> photo_blob(std::string_view payload) {
    auto record = parse_object(payload);
    if (!record) return std::nullopt;
    const json::value* sha = record->if_contains("sha256");
    if (sha == nullptr || !sha->is_string() || !valid_sha256_hex(sha->get_string())) {
        return std::nullopt;
    }
    return std::string(sha->get_string());
}

namespace {

std::int64_t backoff_ceiling(int failures, std::chrono::milliseconds base,
                             std::chrono::milliseconds cap) {
    std::int64_t ceiling = std::max<std::int64_t>(base.count(), 1);
    for (int i = 1; i < failures && ceiling < cap.count(); ++i) ceiling *= 2;
    return std::min(ceiling, std::max<std::int64_t>(cap.count(), 1));
}

}  // namespace

std::chrono::milliseconds full_jitter(int failures, std::chrono::milliseconds base,
                                      std::chrono::milliseconds cap, std::mt19937_64& random) {
    std::uniform_int_distribution<std::int64_t> draw(0, backoff_ceiling(failures, base, cap));
    return std::chrono::milliseconds(draw(random));
}

std::chrono::milliseconds equal_jitter(int failures, std::chrono::milliseconds base,
                                       std::chrono::milliseconds cap, std::mt19937_64& random) {
    std::int64_t ceiling = backoff_ceiling(failures, base, cap);
    std::uniform_int_distribution<std::int64_t> draw(ceiling / 2, ceiling);
    return std::chrono::milliseconds(draw(random));
}

}  // namespace fieldlog::sync::client::wire
