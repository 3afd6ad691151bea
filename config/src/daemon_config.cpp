#include "fieldlog/config/daemon_config.hpp"

#include <sys/un.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include "fieldlog/files.hpp"
#include "gpio_config_reader.hpp"
#include "toml_reader.hpp"

namespace fieldlog::config {

namespace {

using detail::in_quotes;
using detail::TableReader;

constexpr std::size_t max_config_bytes = 1024 * 1024;

bool valid_device_id(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

// "+08:00", "-03:30", "Z"; the same form ISO 8601 and EXIF 2.31 OffsetTime use.
std::optional<int> parse_utc_offset(std::string_view text) {
    if (text == "Z") return 0;
    if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':') {
        return std::nullopt;
    }
    int hours = 0;
    int minutes = 0;
    auto [h_end, h_ec] = std::from_chars(text.data() + 1, text.data() + 3, hours);
    auto [m_end, m_ec] = std::from_chars(text.data() + 4, text.data() + 6, minutes);
    if (h_ec != std::errc() || h_end != text.data() + 3 || m_ec != std::errc() ||
        m_end != text.data() + 6 || hours > 14 || minutes > 59) {
        return std::nullopt;
    }
    int total = hours * 60 + minutes;
    if (total > 14 * 60) return std::nullopt;
    return text[0] == '-' ? -total : total;
}

// What is wrong with a sync.url, or nothing. The URL is the server's base: a scheme, a host with
// an optional port, and an optional path prefix; credentials, a query or a fragment have no place
// in it (the device token comes from token_file).
std::optional<std::string> url_problem(std::string_view url) {
    if (std::any_of(url.begin(), url.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
        return "expected a URL without spaces or control characters";
    }
    std::string_view rest;
    if (url.starts_with("https://")) {
        rest = url.substr(8);
    } else if (url.starts_with("http://")) {
        rest = url.substr(7);
    } else {
        return "expected a URL starting with https:// (or http:// with allow_plain_http), got " +
               in_quotes(url);
    }
    std::string_view authority = rest.substr(0, rest.find('/'));
    if (authority.find('@') != std::string_view::npos) {
        return "the URL must not carry credentials; the device token comes from token_file";
    }
    if (rest.find_first_of("?#") != std::string_view::npos) {
        return "the URL must not have a query or fragment, got " + in_quotes(url);
    }
    std::string_view host = authority;
    std::optional<std::string_view> port;
    if (authority.starts_with('[')) {
        auto close = authority.find(']');
        if (close == std::string_view::npos)
            return "unterminated IPv6 address in " + in_quotes(url);
        host = authority.substr(0, close + 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':')
                return "expected ':' and a port after ']' in " + in_quotes(url);
            port = after.substr(1);
        }
    } else if (auto colon = authority.find(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty() || host == "[]") return "the URL has no host: " + in_quotes(url);
    if (port) {
        int number = 0;
        auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), number);
        if (port->empty() || ec != std::errc() || end != port->data() + port->size() ||
            number < 1 || number > 65535) {
            return "expected a port from 1 to 65535 in " + in_quotes(url);
        }
    }
    return std::nullopt;
}

// A boolean key. TableReader has no boolean getter, so [sync] reads its booleans from the table
// itself and checks its own key list (check_keys) in the same words TableReader::finish uses.
std::optional<bool> boolean(const toml::table* table, TableReader& reader, std::string_view key) {
    if (table == nullptr) return std::nullopt;
    const toml::node* node = table->get(key);
    if (node == nullptr) return std::nullopt;
    if (const auto* value = node->as_boolean()) return value->get();
    reader.error(key, "expected true or false, got " + detail::type_name(*node));
    return std::nullopt;
}

void check_keys(const toml::table* table, std::string_view path,
                std::span<const std::string_view> known, detail::Diagnostics& diag) {
    if (table == nullptr) return;
    std::vector<std::string> names(known.begin(), known.end());
    for (auto&& [key, node] : *table) {
        if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
        std::string what = node.is_table() ? "unknown table" : "unknown key";
        diag.error(key.source(), std::string(path) + "." + std::string(key.str()),
                   what + "; expected one of: " + detail::join(names, ", "));
    }
}

constexpr std::array<std::string_view, 16> sync_keys{"enabled",          "url",
                                                     "token_file",       "ca_file",
                                                     "client_cert",      "client_key",
                                                     "allow_plain_http", "batch_max_entries",
                                                     "batch_max_bytes",  "batch_max_age_ms",
                                                     "chunk_bytes",      "retry_initial_ms",
                                                     "retry_max_ms",     "probe_interval_ms",
                                                     "probe_max_ms",     "request_timeout_ms"};

void read_sync(const toml::table& document, TableReader& root,
               const std::filesystem::path& base_dir, detail::Diagnostics& diag,
               SyncConfig& config) {
    TableReader sync = root.child("sync");
    const toml::table* table = document.get_as<toml::table>("sync");

    std::optional<bool> enabled = boolean(table, sync, "enabled");
    std::optional<bool> plain = boolean(table, sync, "allow_plain_http");
    config.allow_plain_http = plain.value_or(false);
    if (auto url = sync.string("url")) {
        std::string text = *url;
        auto problem = url_problem(text);
        while (!problem && text.ends_with('/')) text.pop_back();
        if (problem) {
            sync.error("url", *problem);
        } else if (text.starts_with("http://") && !config.allow_plain_http) {
            sync.error("url",
                       "plain http:// sends records and the device token unencrypted; use "
                       "https://, or set sync.allow_plain_http = true for a loopback test or lab");
        } else {
            config.url = text;
        }
    }
    bool has_url = table != nullptr && table->contains("url");
    config.enabled = enabled.value_or(has_url);
    if (config.enabled && !has_url) {
        sync.error("enabled", "sync is enabled but sync.url is missing");
    }
    if (auto token = sync.path("token_file", base_dir, config.enabled)) config.token_file = *token;
    if (auto ca = sync.path("ca_file", base_dir)) config.ca_file = *ca;
    auto cert = sync.path("client_cert", base_dir);
    auto key = sync.path("client_key", base_dir);
    if (cert && key) {
        config.client_cert = *cert;
        config.client_key = *key;
    } else if (cert && !(table != nullptr && table->contains("client_key"))) {
        sync.error("client_cert", "client_cert needs client_key (the certificate's private key)");
    } else if (key && !(table != nullptr && table->contains("client_cert"))) {
        sync.error("client_key", "client_key needs client_cert (the certificate it belongs to)");
    }
    if (auto n = sync.integer("batch_max_entries", 1, 1000)) {
        config.batch_max_entries = static_cast<std::size_t>(*n);
    }
    // Payloads travel as JSON strings, so escaping may double them: 3 MiB keeps a batch body
    // under the server's 8 MiB limit.
    if (auto n = sync.integer("batch_max_bytes", 1024, 3 * 1024 * 1024)) {
        config.batch_max_bytes = static_cast<std::size_t>(*n);
    }
    if (auto ms = sync.integer("batch_max_age_ms", 0, 3'600'000)) {
        config.batch_max_age = std::chrono::milliseconds(*ms);
    }
    if (auto n = sync.integer("chunk_bytes", 4096, 4 * 1024 * 1024)) {
        config.chunk_bytes = static_cast<std::size_t>(*n);
    }
    if (auto ms = sync.integer("retry_initial_ms", 10, 3'600'000)) {
        config.retry_initial = std::chrono::milliseconds(*ms);
    }
    // A backoff's cap below its start is refused against the cap's key.
    auto cap = [&](std::string_view cap_key, std::int64_t min, std::string_view start_key,
                   std::chrono::milliseconds start) -> std::optional<std::chrono::milliseconds> {
        auto ms = sync.integer(cap_key, min, 86'400'000);
        if (!ms) return std::nullopt;
        if (std::chrono::milliseconds(*ms) < start) {
            sync.error(cap_key, "expected at least " + std::string(start_key) + " (" +
                                    std::to_string(start.count()) + "), got " +
                                    std::to_string(*ms));
            return std::nullopt;
        }
        return std::chrono::milliseconds(*ms);
    };
    if (auto ms = cap("retry_max_ms", 10, "retry_initial_ms", config.retry_initial)) {
        config.retry_max = *ms;
    } else if (config.retry_max < config.retry_initial) {
        config.retry_max = config.retry_initial;
    }
    if (auto ms = sync.integer("probe_interval_ms", 1000, 86'400'000)) {
        config.probe_interval = std::chrono::milliseconds(*ms);
    }
    if (auto ms = cap("probe_max_ms", 1000, "probe_interval_ms", config.probe_interval)) {
        config.probe_max = *ms;
    }
    if (auto ms = sync.integer("request_timeout_ms", 1000, 3'600'000)) {
        config.request_timeout = std::chrono::milliseconds(*ms);
    }
    check_keys(table, "sync", sync_keys, diag);
}

constexpr std::array<std::string_view, 8> gnss_keys{
    "device",      "baud_rate",      "replay_file", "replay_interval_ms",
    "replay_loop", "max_fix_age_ms", "max_hdop",    "min_satellites"};

void read_gnss(const toml::table& document, TableReader& root,
               const std::filesystem::path& base_dir, detail::Diagnostics& diag,
               GnssConfig& config) {
    TableReader gnss = root.child("gnss");
    const toml::table* table = document.get_as<toml::table>("gnss");
    if (table == nullptr) return;

    std::optional<bool> loop = boolean(table, gnss, "replay_loop");
    config.replay_loop = loop.value_or(false);
    auto device = gnss.string("device");
    auto replay = gnss.path("replay_file", base_dir);
    bool has_device = table->contains("device");
    bool has_replay = table->contains("replay_file");
    if (has_device && has_replay) {
        gnss.error("replay_file",
                   "give either gnss.device (a receiver) or gnss.replay_file (recorded NMEA), "
                   "not both");
    } else if (!has_device && !has_replay) {
        gnss.error(
            "expected gnss.device (the receiver's serial port) or gnss.replay_file "
            "(recorded NMEA text); leave out [gnss] for a device without a receiver");
    }
    if (device) {
        if (device->empty()) {
            gnss.error("device", "expected a serial device path such as \"/dev/ttyACM0\"");
        } else {
            config.device = *device;
        }
    }
    if (replay) config.replay_file = *replay;
    if (auto baud = gnss.integer("baud_rate", 1, 4'000'000)) {
        if (*baud != 4800 && *baud != 9600 && *baud != 38400 && *baud != 115200) {
            gnss.error("baud_rate",
                       "expected 4800, 9600, 38400 or 115200, got " + std::to_string(*baud));
        } else {
            config.baud_rate = static_cast<unsigned>(*baud);
        }
        if (has_replay) gnss.error("baud_rate", "baud_rate applies to gnss.device only");
    }
    if (auto ms = gnss.integer("replay_interval_ms", 1, 60'000)) {
        config.replay_interval = std::chrono::milliseconds(*ms);
        if (has_device) gnss.error("replay_interval_ms", "applies to gnss.replay_file only");
    }
    if (loop && has_device) gnss.error("replay_loop", "applies to gnss.replay_file only");
    if (auto ms = gnss.integer("max_fix_age_ms", 1, 3'600'000)) {
        config.max_fix_age = std::chrono::milliseconds(*ms);
    }
    if (auto hdop = gnss.number("max_hdop")) {
        if (!(*hdop > 0 && *hdop <= 100)) {
            gnss.error("max_hdop",
                       "expected more than 0 and at most 100, got " + std::to_string(*hdop));
        } else {
            config.max_hdop = *hdop;
        }
    }
    if (auto n = gnss.integer("min_satellites", 0, 99))
        config.min_satellites = static_cast<int>(*n);
    check_keys(table, "gnss", gnss_keys, diag);
    config.source = has_device   ? GnssConfig::Source::serial
                    : has_replay ? GnssConfig::Source::replay
                                 : GnssConfig::Source::none;
}

}  // namespace

Result<DaemonConfig> parse_daemon_config(std::string_view toml_text, const std::string& source_name,
                                         const std::filesystem::path& base_dir) {
    detail::Diagnostics diag;
    diag.set_source(source_name);
    auto document = detail::parse_document(toml_text, diag);
    if (!document) return diag.to_error();

    DaemonConfig config;
    TableReader root(*document, "", diag);

    TableReader device = root.child("device");
    if (auto id = device.string("id", true)) {
        if (valid_device_id(*id)) {
            config.device_id = *id;
        } else {
            device.error("id", "expected 1 to 64 of A-Z a-z 0-9 . _ -, got " + in_quotes(*id));
        }
    }
    if (auto dir = device.path("data_dir", base_dir, true)) config.data_dir = *dir;
    if (auto offset = device.string("utc_offset")) {
        if (auto minutes = parse_utc_offset(*offset)) {
            config.default_utc_offset_minutes = *minutes;
        } else {
            device.error("utc_offset",
                         "expected an offset from \"-14:00\" to \"+14:00\" such as "
                         "\"+08:00\", got " +
                             in_quotes(*offset));
        }
    }
    device.finish();

    TableReader control = root.child("control");
    if (auto socket = control.path("socket", base_dir, true)) {
        // sun_path holds the path and its terminating NUL; a longer path cannot be bound.
        constexpr std::size_t max_socket_path = sizeof(sockaddr_un::sun_path) - 1;
        if (socket->native().size() > max_socket_path) {
            control.error("socket", "path " + in_quotes(socket->native()) + " is " +
                                        std::to_string(socket->native().size()) +
                                        " bytes, longer than the " +
                                        std::to_string(max_socket_path) + " a Unix socket allows");
        } else {
            config.control_socket = *socket;
        }
    }
    if (auto bytes = control.integer("max_request_bytes", 1024, 1024 * 1024)) {
        config.max_request_bytes = static_cast<std::size_t>(*bytes);
    }
    if (auto clients = control.integer("max_clients", 1, 1024)) {
        config.max_clients = static_cast<std::size_t>(*clients);
    }
    control.finish();

    TableReader store = root.child("store");
    if (auto mode = store.string("synchronous")) {
        if (*mode == "full") {
            config.synchronous = DaemonConfig::Synchronous::full;
        } else if (*mode == "normal") {
            config.synchronous = DaemonConfig::Synchronous::normal;
        } else {
            store.error("synchronous", "expected \"full\" or \"normal\", got " + in_quotes(*mode));
        }
    }
    if (auto entries = store.integer("device_log_max_entries", 100, 10'000'000)) {
        config.device_log_max_entries = static_cast<std::size_t>(*entries);
    }
    if (auto bytes = store.integer("max_photo_bytes", 64 * 1024, 1024 * 1024 * 1024)) {
        config.max_photo_bytes = static_cast<std::size_t>(*bytes);
    }
    store.finish();

    TableReader reference = root.child("reference");
    if (auto sites = reference.path("sites", base_dir, true)) config.sites_file = *sites;
    if (auto dir = reference.path("standards_dir", base_dir, true)) config.standards_dir = *dir;
    reference.finish();

    read_sync(*document, root, base_dir, diag, config.sync);
    read_gnss(*document, root, base_dir, diag, config.gnss);

    if (document->contains("camera")) {
        TableReader camera = root.child("camera");
        if (auto dir = camera.path("inbox_dir", base_dir, true)) config.camera.inbox_dir = *dir;
        if (auto ms = camera.integer("inbox_settle_ms", 10, 600'000)) {
            config.camera.inbox_settle = std::chrono::milliseconds(*ms);
        }
        camera.finish();
    }
    if (document->contains("power")) {
        TableReader power = root.child("power");
        config.power.enabled = true;
        if (auto dir = power.path("sysfs_root", base_dir)) config.power.sysfs_root = *dir;
        if (auto ms = power.integer("poll_interval_ms", 1, 3'600'000)) {
            config.power.poll_interval = std::chrono::milliseconds(*ms);
        }
        if (auto n = power.integer("low_battery_percent", 0, 100)) {
            config.power.low_battery_percent = static_cast<int>(*n);
        }
        if (auto n = power.integer("low_battery_hysteresis_percent", 0, 50)) {
            config.power.low_battery_hysteresis_percent = static_cast<int>(*n);
        }
        power.finish();
    }

    detail::read_gpio(*document, root, config.gpio);

    root.finish();
    if (!diag.ok()) return diag.to_error();
    return config;
}

Result<DaemonConfig> load_daemon_config(const std::filesystem::path& file) {
    auto text = read_file(file, max_config_bytes);
    if (!text) return text.error();
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(file, ec);
    if (ec) {
        return Error(Errc::io, "cannot resolve " + file.string() + ": " + ec.message());
    }
    return parse_daemon_config(*text, file.string(), absolute.parent_path());
}

}  // namespace fieldlog::config
