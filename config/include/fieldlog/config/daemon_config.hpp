// The daemon's configuration file (fieldlogd.toml): its schema, defaults and loader. Every error
// names the file, line, column and key, and unknown keys are rejected rather than ignored.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "fieldlog/error.hpp"

namespace fieldlog::config {

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
};

// Relative paths in the file are resolved against the file's own directory.
[[nodiscard]] Result<DaemonConfig> load_daemon_config(const std::filesystem::path& file);

// source_name is what messages call the file; base_dir anchors relative paths.
[[nodiscard]] Result<DaemonConfig> parse_daemon_config(std::string_view toml_text,
                                                       const std::string& source_name,
                                                       const std::filesystem::path& base_dir);

}  // namespace fieldlog::config
