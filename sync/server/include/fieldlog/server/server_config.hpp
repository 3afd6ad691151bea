// fieldlog-server's configuration file (fieldlog-server.toml): its schema, defaults and loader.
// Every error names the file, line, column and key; unknown keys are rejected, not ignored.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "fieldlog/error.hpp"

namespace fieldlog::server {

struct TlsConfig {
    std::filesystem::path certificate;  // PEM chain, server certificate first
    std::filesystem::path private_key;  // PEM
    // When set, every client must present a certificate this CA (PEM) signed: devices then
    // need sync.client_cert, on top of their token.
    std::optional<std::filesystem::path> client_ca;
};

struct ServerConfig {
    std::string listen_host = "127.0.0.1";  // an IPv4 or IPv6 address literal
    std::uint16_t listen_port = 8443;       // 0: any free port (tests)
    std::size_t threads = 2;
    std::filesystem::path admin_token_file;
    std::filesystem::path data_dir;
    std::optional<TlsConfig> tls;  // absent: plain HTTP, for labs and loopback tests only
    std::size_t max_body_bytes = std::size_t{8} * 1024 * 1024;
    std::size_t max_header_bytes = std::size_t{16} * 1024;
    std::chrono::seconds request_timeout{30};
    std::size_t max_connections = 256;
    std::int64_t max_blob_bytes = std::int64_t{256} * 1024 * 1024;
    // A photo upload that no chunk has reached for this long is abandoned (a device that comes
    // back asks HEAD, gets 404 and starts over): its partial file and state are removed by a
    // sweep every partial_sweep_interval, so a device that never returns does not hold disk
    // forever.
    std::chrono::seconds partial_upload_max_age{std::chrono::hours(7 * 24)};
    std::chrono::seconds partial_sweep_interval{std::chrono::hours(1)};
};

// Relative paths in the file are resolved against the file's own directory.
[[nodiscard]] Result<ServerConfig> load_server_config(const std::filesystem::path& file);

// source_name is what messages call the file; base_dir anchors relative paths.
[[nodiscard]] Result<ServerConfig> parse_server_config(std::string_view toml_text,
                                                       const std::string& source_name,
                                                       const std::filesystem::path& base_dir);

}  // namespace fieldlog::server
