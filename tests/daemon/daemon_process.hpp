// fieldlogd as a child process, for tests that check what the daemon does as a whole: its
// config is written into a temp dir, the process is spawned and talked to over its control
// socket, and it never outlives the test (SIGKILL and reap in the destructor).
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "temp_dir.hpp"

namespace fieldlog::testing {

// Generous, since under ASan the daemon starts and answers several times slower; every wait
// still ends early as soon as its condition holds or the daemon has exited.
inline constexpr std::chrono::milliseconds daemon_start_timeout{20'000};
inline constexpr std::chrono::milliseconds reply_timeout{20'000};

// The [sync] table (config/fieldlogd.toml); the daemon syncs only when a DaemonConfig has one.
struct SyncSettings {
    std::string url;
    std::filesystem::path token_file;
    bool allow_plain_http = true;  // tests talk to a server on loopback
    std::size_t batch_max_entries = 500;
    std::size_t batch_max_bytes = std::size_t{1} << 20;
    std::int64_t batch_max_age_ms = 50;
    std::size_t chunk_bytes = std::size_t{1} << 20;
    std::int64_t retry_initial_ms = 50;
    std::int64_t retry_max_ms = 500;
    std::int64_t probe_interval_ms = 1000;
    std::int64_t request_timeout_ms = 10'000;
};

struct DaemonConfig {
    std::string device_id = "test-device";
    std::filesystem::path data_dir;
    // Kept short: a Unix socket path must fit in sun_path (108 bytes).
    std::filesystem::path socket;
    std::filesystem::path sites_file;
    std::filesystem::path standards_dir;
    std::size_t max_request_bytes = 65536;
    std::size_t max_clients = 32;
    std::optional<SyncSettings> sync;  // no [sync] table when empty
    // Appended as is after the generated tables, for tables this struct has no fields for
    // ([gnss], [camera]).
    std::string extra_toml;
};

// Data and socket inside dir, the shipped reference data from the source tree.
DaemonConfig default_daemon_config(const std::filesystem::path& dir);
std::string daemon_config_toml(const DaemonConfig& config);

// How a child ended, as waitpid reported it.
struct ExitStatus {
    int raw = 0;
    bool exited() const;
    int code() const;  // meaningful when exited()
    bool signaled() const;
    int signal() const;  // meaningful when signaled()
    std::string describe() const;
};

// One connection to the control socket. Nothing here throws or blocks without a deadline, so
// client threads can use it while the daemon is killed under them.
class ControlClient {
public:
    // Connects once; nullopt when nothing accepts on path.
    static std::optional<ControlClient> connect(const std::filesystem::path& socket);
    ControlClient(ControlClient&& other) noexcept;
    ControlClient& operator=(ControlClient&& other) noexcept;
    ControlClient(const ControlClient&) = delete;
    ControlClient& operator=(const ControlClient&) = delete;
    ~ControlClient();

    // Writes every byte; false when the daemon has gone or closed the connection.
    bool send(std::string_view bytes);
    // The next line the daemon sent, without its newline; nullopt on close, error or timeout.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout = reply_timeout);
    // Sends request as one line and parses the line that answers it.
    std::optional<boost::json::value> request(const boost::json::value& request,
                                              std::chrono::milliseconds timeout = reply_timeout);
    // True when the daemon closes its end within timeout without sending anything more.
    bool wait_closed(std::chrono::milliseconds timeout = reply_timeout);

private:
    explicit ControlClient(int fd) : fd_(fd) {}
    int fd_ = -1;
    std::string pending_;  // bytes received beyond the last line returned
};

class DaemonProcess {
public:
    // Writes dir/fieldlogd.toml from config; the daemon starts with start().
    DaemonProcess(const std::filesystem::path& dir, DaemonConfig config);
    ~DaemonProcess();
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    const DaemonConfig& config() const { return config_; }
    const std::filesystem::path& config_path() const { return config_path_; }
    // Replaces the config file's content (for reload tests); the daemon reads it on SIGHUP.
    void write_config_text(const std::string& toml) const;

    // Spawns `fieldlogd --config FILE` and waits until its socket accepts. Fails at once,
    // quoting the daemon's stderr, when it exits instead.
    ::testing::AssertionResult start();
    // Same, with the command given in full (a wrapper that ends by exec'ing fieldlogd, so
    // that the spawned pid is the daemon's); argv[0] is looked up in PATH.
    ::testing::AssertionResult start_command(const std::vector<std::string>& argv);
    // Only spawns: for a daemon that is expected to refuse to start. When argv[0] is
    // executable(), the command runs through the test emulator of a cross build
    // (target_command.hpp); start() and start_command() spawn through here too.
    ::testing::AssertionResult spawn(const std::vector<std::string>& argv);
    ::testing::AssertionResult wait_ready(std::chrono::milliseconds timeout = daemon_start_timeout);

    // One request on a fresh connection; nullopt when the daemon does not answer.
    std::optional<boost::json::value> request(const boost::json::value& request) const;
    // Runs op and returns its result object; records a test failure and returns an empty
    // object when the reply is missing or an error.
    boost::json::object ok(std::string_view op, boost::json::object args = {}) const;
    std::optional<ControlClient> connect() const { return ControlClient::connect(config_.socket); }

    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0 && !exit_status_; }
    bool kill(int signal) const;
    // Waits (bounded) for the daemon to exit and reaps it.
    std::optional<ExitStatus> wait_exit(std::chrono::milliseconds timeout = daemon_start_timeout);
    // What the daemon (and any wrapper) wrote to stdout and stderr since its last start.
    std::string output() const;

    static std::filesystem::path executable();

private:
    bool reap(bool block);

    DaemonConfig config_;
    std::filesystem::path config_path_;
    std::filesystem::path output_path_;
    std::uintmax_t output_offset_ = 0;
    pid_t pid_ = -1;
    std::optional<ExitStatus> exit_status_;
};

// Runs a short helper command to completion (bounded), its output appended to output_file;
// nullopt when it cannot be spawned or does not finish in time (it is then killed).
std::optional<ExitStatus> run_command(const std::vector<std::string>& argv,
                                      const std::filesystem::path& output_file,
                                      std::chrono::milliseconds timeout);

// The error code of a reply ("" when it succeeded or is not a reply at all).
std::string error_code(const boost::json::value& reply);
std::string error_message(const boost::json::value& reply);

// What the driver tests (drivers_test.cpp, gpio_test.cpp) share: a daemon on a field kit's
// tables, waited on, fed recorded GNSS and a sysfs power tree. In a namespace of their own, so a
// test file with helpers of the same names keeps its own.
namespace field_kit {

inline constexpr std::chrono::milliseconds poll_step{20};

// Checks condition every poll_step until it holds or timeout passes; bounded in time, and so
// in count.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = daemon_start_timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (auto left = timeout / poll_step + 1; left > 0; --left) {
        if (condition() || std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(poll_step);
    }
    return condition();
}

// A daemon in a temp dir of its own on the default config plus extra_toml (tables such as
// [gpio], [gnss], [power]). Files it should find (a recorded NMEA file, a sysfs tree) and
// config() changes go in before start().
class KitDaemon {
public:
    explicit KitDaemon(std::string extra_toml = "");

    const TempDir& dir() const { return dir_; }
    DaemonConfig& config() { return config_; }
    // Writes the config and starts the daemon; a failure carries the daemon's output.
    ::testing::AssertionResult start();
    // Only after start().
    DaemonProcess& operator*() { return *daemon_; }
    DaemonProcess* operator->() { return &*daemon_; }

private:
    TempDir dir_;
    DaemonConfig config_;
    std::optional<DaemonProcess> daemon_;
};

// Whether the device log's last 100 entries hold one of event whose message contains text.
bool logged(const DaemonProcess& daemon, std::string_view event, std::string_view text);
// inspection.start at the shipped wwtp-east site; empty on failure (recorded).
boost::json::object start_inspection(const DaemonProcess& daemon);
// status.<name> (gnss, gpio, power, sync); empty when status failed (recorded).
boost::json::object status_of(const DaemonProcess& daemon, std::string_view name);

// One sysfs attribute, replaced whole as the kernel presents it.
void write_attribute(const std::filesystem::path& file, const std::string& value);

// One NMEA sentence with its checksum: the XOR of every character between '$' and '*'.
std::string nmea(std::string_view body);
// RMC for the date, then GGA for the position: 30.585390 N, 114.309463 E at 2026-11-25
// 08:35:59 UTC, 12 satellites.
std::string fix_sentences();
inline constexpr double fix_lat = 30.0 + 35.1234 / 60.0;
inline constexpr double fix_lon = 114.0 + 18.5678 / 60.0;
std::int64_t fix_time_ms();
// The fix's time and position on a record, or none at all.
void expect_position(const boost::json::object& record);
void expect_no_position(const boost::json::object& record);

}  // namespace field_kit

}  // namespace fieldlog::testing
