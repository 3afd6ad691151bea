#include "fieldlog/server/server_config.hpp"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <system_error>
#include <vector>

#include "fieldlog/files.hpp"

namespace fieldlog::server {

namespace {

constexpr std::size_t max_config_bytes = 1024 * 1024;

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

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

// Collects every problem as "file:line:column: key: reason", so one run lists all of them.
class Diagnostics {
public:
    explicit Diagnostics(std::string source) : source_(std::move(source)) {}

    void error(const toml::source_region& where, std::string_view key, std::string_view reason) {
        std::string message = source_;
        if (where.begin.line > 0) {
            message += ":" + std::to_string(where.begin.line);
            if (where.begin.column > 0) message += ":" + std::to_string(where.begin.column);
        }
        message += ": ";
        if (!key.empty()) message += std::string(key) + ": ";
        messages_.push_back(message + std::string(reason));
    }
    bool ok() const { return messages_.empty(); }
    Error to_error() const {
        std::string text;
        for (const auto& m : messages_) {
            if (!text.empty()) text += "\n";
            text += m;
        }
        return Error(Errc::invalid_argument, text);
    }
    const std::string& source() const { return source_; }

private:
    std::string source_;
    std::vector<std::string> messages_;
};

// Reads one table; finish() reports every key no getter asked for, so a misspelt key fails
// instead of silently taking a default.
class TableReader {
public:
    TableReader(const toml::table& table, std::string path, Diagnostics& diag)
        : table_(&table), path_(std::move(path)), diag_(&diag) {}

    bool present() const { return present_; }

    std::optional<std::string> string(std::string_view key, bool required = false) {
        const toml::node* node = take(key, required);
        if (node == nullptr) return std::nullopt;
        if (const auto* value = node->as_string()) return value->get();
        wrong_type(key, "a string", *node);
        return std::nullopt;
    }

    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max,
                                        bool required = false) {
        const toml::node* node = take(key, required);
        if (node == nullptr) return std::nullopt;
        std::string expected =
            "an integer from " + std::to_string(min) + " to " + std::to_string(max);
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

    std::optional<std::filesystem::path> path(std::string_view key,
                                              const std::filesystem::path& base_dir,
                                              bool required = false) {
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

    TableReader child(std::string_view key) {
        static const toml::table empty;
        const toml::node* node = take(key, false);
        if (node != nullptr) {
            if (const auto* table = node->as_table()) {
                TableReader reader(*table, key_path(key), *diag_);
                reader.present_ = true;
                return reader;
            }
            wrong_type(key, "a table", *node);
        }
        return TableReader(empty, key_path(key), *diag_);
    }

    void finish() {
        for (auto&& [key, node] : *table_) {
            if (std::find(known_.begin(), known_.end(), key.str()) != known_.end()) continue;
            std::string what = node.is_table() ? "unknown table" : "unknown key";
            std::string expected;
            for (const auto& k : known_) expected += (expected.empty() ? "" : ", ") + k;
            diag_->error(key.source(), key_path(key.str()),
                         what + "; expected one of: " + expected);
        }
    }

    void error(std::string_view key, std::string_view reason) {
        auto it = table_->find(key);
        const toml::source_region& where =
            it == table_->end() ? table_->source() : it->first.source();
        diag_->error(where, key_path(key), reason);
    }

private:
    std::string key_path(std::string_view key) const {
        return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
    }
    const toml::node* take(std::string_view key, bool required) {
        if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
            known_.emplace_back(key);
        }
        const toml::node* node = table_->get(key);
        if (node == nullptr && required) error(key, "missing required key");
        return node;
    }
    void wrong_type(std::string_view key, std::string_view expected, const toml::node& found) {
        error(key, "expected " + std::string(expected) + ", got " + type_name(found));
    }

    const toml::table* table_;
    std::string path_;
    Diagnostics* diag_;
    std::vector<std::string> known_;
    bool present_ = false;
};

struct Listen {
    std::string host;
    std::uint16_t port = 0;
};

// "127.0.0.1:8443", "0.0.0.0:8443", "[::1]:8443". A name would need DNS at every start, and a
// server should bind exactly what its administrator wrote.
std::optional<Listen> parse_listen(std::string_view text) {
    std::string_view host;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        in6_addr addr{};
        if (inet_pton(AF_INET6, std::string(host).c_str(), &addr) != 1) return std::nullopt;
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        in_addr addr{};
        if (inet_pton(AF_INET, std::string(host).c_str(), &addr) != 1) return std::nullopt;
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
        return std::nullopt;
    }
    return Listen{std::string(host), static_cast<std::uint16_t>(value)};
}

}  // namespace

Result<ServerConfig> parse_server_config(std::string_view toml_text, const std::string& source_name,
                                         const std::filesystem::path& base_dir) {
    Diagnostics diag(source_name);
    toml::table document;
    try {
        document = toml::parse(toml_text, source_name);
    } catch (const toml::parse_error& e) {
        diag.error(e.source(), "", "syntax error: " + std::string(e.description()));
        return diag.to_error();
    }

    ServerConfig config;
    TableReader root(document, "", diag);

    TableReader server = root.child("server");
    if (auto listen = server.string("listen", true)) {
        if (auto parsed = parse_listen(*listen)) {
            config.listen_host = parsed->host;
            config.listen_port = parsed->port;
        } else {
            server.error("listen",
                         "expected an address and port such as \"127.0.0.1:8443\" or "
                         "\"[::1]:8443\" (port 0 to 65535), got " +
                             in_quotes(*listen));
        }
    }
    if (auto threads = server.integer("threads", 1, 256)) {
        config.threads = static_cast<std::size_t>(*threads);
    }
    if (auto file = server.path("admin_token_file", base_dir, true)) {
        config.admin_token_file = *file;
    }
    if (auto dir = server.path("data_dir", base_dir, true)) config.data_dir = *dir;
    server.finish();

    TableReader tls = root.child("tls");
    if (tls.present()) {
        auto certificate = tls.path("certificate", base_dir, true);
        auto key = tls.path("private_key", base_dir, true);
        auto client_ca = tls.path("client_ca", base_dir);
        if (certificate && key) config.tls = TlsConfig{*certificate, *key, client_ca};
    }
    tls.finish();

    TableReader limits = root.child("limits");
    if (auto bytes = limits.integer("max_body_bytes", 64 * 1024, 1024 * 1024 * 1024)) {
        config.max_body_bytes = static_cast<std::size_t>(*bytes);
    }
    if (auto bytes = limits.integer("max_header_bytes", 1024, 1024 * 1024)) {
        config.max_header_bytes = static_cast<std::size_t>(*bytes);
    }
    if (auto seconds = limits.integer("request_timeout_s", 1, 3600)) {
        config.request_timeout = std::chrono::seconds(*seconds);
    }
    if (auto connections = limits.integer("max_connections", 1, 100000)) {
        config.max_connections = static_cast<std::size_t>(*connections);
    }
    if (auto bytes =
            limits.integer("max_blob_bytes", 1024, std::int64_t{64} * 1024 * 1024 * 1024)) {
        config.max_blob_bytes = *bytes;
    }
    limits.finish();

    TableReader uploads = root.child("uploads");
    if (auto seconds = uploads.integer("partial_max_age_s", 60, std::int64_t{3650} * 24 * 3600)) {
        config.partial_upload_max_age = std::chrono::seconds(*seconds);
    }
    if (auto seconds = uploads.integer("partial_sweep_interval_s", 1, 24 * 3600)) {
        config.partial_sweep_interval = std::chrono::seconds(*seconds);
    }
    uploads.finish();

    root.finish();
    if (!diag.ok()) return diag.to_error();
    return config;
}

Result<ServerConfig> load_server_config(const std::filesystem::path& file) {
    auto text = read_file(file, max_config_bytes);
    if (!text) return text.error();
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(file, ec);
    if (ec) {
        return Error(Errc::io, "cannot resolve " + file.string() + ": " + ec.message());
    }
    return parse_server_config(*text, file.string(), absolute.parent_path());
}

}  // namespace fieldlog::server
