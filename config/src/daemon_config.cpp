#include "fieldlog/config/daemon_config.hpp"

#include <sys/un.h>

#include <charconv>
#include <system_error>

#include "fieldlog/files.hpp"
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
