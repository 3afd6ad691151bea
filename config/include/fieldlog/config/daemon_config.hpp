// The daemon's configuration file (fieldlogd.toml): its schema, defaults and loader. Every error
// names the file, line, column and key, and unknown keys are rejected rather than ignored.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "fieldlog/error.hpp"

namespace fieldlog::config {

// [sync]: how the daemon's uploader reaches the office server (docs/sync-protocol.md).
struct SyncConfig {
    // Defaults to whether a url is given; true without a url is an error.
    bool enabled = false;
    // The server's base URL, without a trailing '/': "https://sync.example.org" or with a path
    // prefix. http:// only with allow_plain_http (loopback tests and labs).
    std::string url;
    std::filesystem::path token_file;   // the device token; must be mode 0600 (checked at start)
    std::filesystem::path ca_file;      // CA bundle the server certificate is checked against;
                                        // empty: the system's trust store
    std::filesystem::path client_cert;  // optional TLS client certificate and its key (PEM),
    std::filesystem::path client_key;   // given together or not at all
    bool allow_plain_http = false;
    std::size_t batch_max_entries = 500;                 // 1..1000, the protocol's cap
    std::size_t batch_max_bytes = std::size_t{1} << 20;  // record payload bytes in one batch
    std::chrono::milliseconds batch_max_age{2000};       // a non-full batch waits this long
    std::size_t chunk_bytes = std::size_t{1} << 20;      // photo upload chunk, at most 4 MiB
    std::chrono::milliseconds retry_initial{1000};       // backoff after a failed request
    std::chrono::milliseconds retry_max{300'000};
    std::chrono::milliseconds probe_interval{60'000};   // backoff base while the link is down
    std::chrono::milliseconds request_timeout{30'000};  // one HTTP exchange, connect included

    bool operator==(const SyncConfig&) const = default;
};

struct DaemonConfig {
    std::string device_id;  // [A-Za-z0-9._-]{1,64}; part of every outbox entry's identity
    std::filesystem::path data_dir;
    std::filesystem::path control_socket;
    std::size_t max_request_bytes = 65536;
    std::size_t max_clients = 32;
    // full: fsync on every commit, which "saved" relies on. normal trades the newest commits on
    // power loss for speed and is meant for benchmarks, not the field.
    enum class Synchronous { full, normal } synchronous = Synchronous::full;
    std::size_t device_log_max_entries = 10000;
    std::size_t max_photo_bytes = std::size_t{32} * 1024 * 1024;
    int default_utc_offset_minutes = 0;  // for EXIF times, which carry no zone
    std::filesystem::path sites_file;
    std::filesystem::path standards_dir;
    SyncConfig sync;
};

// Relative paths in the file are resolved against the file's own directory.
[[nodiscard]] Result<DaemonConfig> load_daemon_config(const std::filesystem::path& file);

// source_name is what messages call the file; base_dir anchors relative paths.
[[nodiscard]] Result<DaemonConfig> parse_daemon_config(std::string_view toml_text,
                                                       const std::string& source_name,
                                                       const std::filesystem::path& base_dir);

}  // namespace fieldlog::config
