// Runs a real fieldlogd as a child process on a temp config, and talks to it the way the CLI
// does: one line of JSON out, one line back, over the Unix control socket.
#pragma once

#include <sys/types.h>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace fieldlog::bench {

// Writes dir/fieldlogd.toml from the shipped config/fieldlogd.toml with every key kept and
// only the paths replaced: data_dir and socket inside dir, sites and standards_dir from the
// source tree. Returns the config's path.
std::filesystem::path write_daemon_config(const std::filesystem::path& source_dir,
                                          const std::filesystem::path& dir);

class DaemonProcess {
public:
    // Starts executable -c config with extra_env added to the environment and stderr going to
    // log, and waits until the control socket answers.
    DaemonProcess(const std::filesystem::path& executable, const std::filesystem::path& config,
                  const std::filesystem::path& socket, const std::filesystem::path& log,
                  const std::vector<std::string>& extra_env = {});
    ~DaemonProcess();
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    pid_t pid() const { return pid_; }
    // SIGTERM, then waits (SIGKILL after 10 s); returns the exit status as waitpid gives it.
    int stop();

private:
    pid_t pid_ = -1;
    std::filesystem::path log_;
};

// One control-socket connection. Every call waits for its reply (one request outstanding).
class ControlClient {
public:
    // A reply that takes longer than timeout is an error (sync with wait may take long).
    explicit ControlClient(const std::filesystem::path& socket,
                           std::chrono::seconds timeout = std::chrono::seconds(30));
    ~ControlClient();
    ControlClient(const ControlClient&) = delete;
    ControlClient& operator=(const ControlClient&) = delete;

    // Sends the request and returns its result; throws std::runtime_error on an error reply.
    boost::json::value call(std::string_view op, const boost::json::object& args = {});

private:
    int fd_ = -1;
    std::int64_t next_id_ = 1;
    std::string pending_;
};

// CPU seconds (user + system) the process has used so far, from /proc/PID/stat.
double cpu_seconds(pid_t pid);

// Fields of /proc/PID/status in KiB: VmRSS, VmHWM, RssAnon, RssFile, RssShmem, plus Threads.
std::map<std::string, std::int64_t> process_status(pid_t pid);

// Resident KiB per mapping group from /proc/PID/smaps, largest first: files by name,
// [heap], [stack], and anonymous mappings split into 64 MiB-aligned ones (glibc malloc
// arenas of other threads) and the rest (thread stacks, mmap'd allocations).
std::vector<std::pair<std::string, std::int64_t>> resident_by_mapping(pid_t pid);

// Runs threads clients, each on its own connection sending measurement.add back to back,
// until duration has passed or total requests have been acknowledged (0: no count limit).
struct ClientRun {
    std::int64_t acknowledged = 0;
    double seconds = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    double max_ms = 0;
    double per_second() const {
        return seconds > 0 ? static_cast<double>(acknowledged) / seconds : 0;
    }
};
ClientRun run_measurement_clients(const std::filesystem::path& socket, int threads,
                                  std::chrono::duration<double> duration, std::int64_t total = 0);

}  // namespace fieldlog::bench
