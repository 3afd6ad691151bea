// The daemon's configuration file (fieldlogd.toml): its schema, defaults and loader. Every error
// names the file, line, column and key, and unknown keys are rejected rather than ignored.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "fieldlog/config/gpio_config.hpp"
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
    std::chrono::milliseconds probe_interval{120'000};  // backoff base while out of reach
    // Longest wait between probes of a server out of reach; unset: max(retry_max,
    // probe_interval). A link change, a dock or the operator tries at once whatever it is.
    std::optional<std::chrono::milliseconds> probe_max;
    std::chrono::milliseconds request_timeout{30'000};  // one HTTP exchange, connect included

    bool operator==(const SyncConfig&) const = default;
};

// [gnss]: the receiver whose fix is attached to records (design invariant 6). Without the table
// there is no receiver and records carry no position.
struct GnssConfig {
    // serial: an NMEA receiver on `device`; replay: recorded NMEA text from `replay_file`, fed a
    // line per replay_interval (a simulated receiver, for demos and tests).
    enum class Source { none, serial, replay } source = Source::none;
    std::string device;
    unsigned baud_rate = 9600;  // 4800, 9600, 38400 or 115200
    std::filesystem::path replay_file;
    std::chrono::milliseconds replay_interval{200};
    bool replay_loop = false;
    std::chrono::milliseconds max_fix_age{5000};  // an older fix is not attached
    double max_hdop = 5.0;
    int min_satellites = 4;

    bool operator==(const GnssConfig&) const = default;
};

// [camera]: the folder new photos land in; each complete JPEG goes into the open inspection.
// Without the table no folder is watched.
struct CameraConfig {
    std::filesystem::path inbox_dir;  // empty: no inbox
    // A file nobody is seen closing counts as written once it has not changed this long.
    std::chrono::milliseconds inbox_settle{2000};

    bool operator==(const CameraConfig&) const = default;
};

// [power]: the battery and supplies under sysfs; a low battery shows in status and the device
// log. Without the table the daemon does not watch power.
struct PowerConfig {
    bool enabled = false;                                          // true when the table is present
    std::filesystem::path sysfs_root = "/sys/class/power_supply";  // tests point it elsewhere
    // The safety net under the kernel's power_supply uevents, which carry every change a
    // driver reports: a reading this often all the same, for gauges that report level changes
    // to nobody.
    std::chrono::milliseconds poll_interval{300'000};
    int low_battery_percent = 15;
    int low_battery_hysteresis_percent = 5;

    bool operator==(const PowerConfig&) const = default;
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
    GnssConfig gnss;
    CameraConfig camera;
    PowerConfig power;
    GpioConfig gpio;
};

// Relative paths in the file are resolved against the file's own directory.
[[nodiscard]] Result<DaemonConfig> load_daemon_config(const std::filesystem::path& file);

// source_name is what messages call the file; base_dir anchors relative paths.
[[nodiscard]] Result<DaemonConfig> parse_daemon_config(std::string_view toml_text,
                                                       const std::string& source_name,
                                                       const std::filesystem::path& base_dir);

}  // namespace fieldlog::config
