// bench_idle_wakeups: how often an idle fieldlogd wakes up (design invariant 8: at most a few
// times a minute). Counts, for every thread of the daemon, the times the scheduler ran it
// (/proc/PID/task/TID/schedstat, third field) and its context switches over a quiet window,
// after the start-up work has settled. Two configurations, each a fresh daemon:
//   offline:   the shipped config (no sync, no drivers), as an inspector's device in the field;
//   field kit: the shipped config plus [gpio] (button, dock line and two LEDs on the simulated
//              backend), [power] (a sysfs fixture, read on power_supply uevents and every
//              poll_interval_ms) and [sync] pointing at a closed 127.0.0.1 port, with 20
//              records waiting in the outbox, so the uploader sits in its backoff between
//              probes and the status LED shows records pending.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/array.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "bench_support.hpp"
#include "daemon_harness.hpp"
#include "sync_harness.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace bench = fieldlog::bench;
using namespace std::chrono_literals;

// "A few times a minute".
constexpr double target_per_minute = 5.0;

struct Options {
    double seconds = 60;
    double settle_seconds = 5;
};

Options parse(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--seconds" && i + 1 < argc) {
            options.seconds = std::strtod(argv[++i], nullptr);
        } else if (arg == "--settle" && i + 1 < argc) {
            options.settle_seconds = std::strtod(argv[++i], nullptr);
        } else {
            std::cerr << "usage: bench_idle_wakeups [--seconds S (default 60)] [--settle S "
                         "(default 5)]\n";
            std::exit(2);
        }
    }
    if (!(options.seconds >= 5 && options.seconds <= 3600) ||
        !(options.settle_seconds >= 0 && options.settle_seconds <= 60)) {
        std::cerr << "bench_idle_wakeups: --seconds in [5, 3600], --settle in [0, 60]\n";
        std::exit(2);
    }
    return options;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

struct ThreadCounts {
    std::string name;
    std::int64_t runs = 0;      // schedstat: times the thread was scheduled in
    std::int64_t switches = 0;  // voluntary + involuntary context switches
};

// Per thread id. A thread that ends during the window is missing from the second reading and
// counts from zero in the first: the daemon's threads live as long as it does.
std::map<std::string, ThreadCounts> read_threads(pid_t pid) {
    std::map<std::string, ThreadCounts> threads;
    const fs::path tasks = fs::path("/proc") / std::to_string(pid) / "task";
    for (const auto& entry : fs::directory_iterator(tasks)) {
        ThreadCounts counts;
        std::string comm = read_file(entry.path() / "comm");
        while (!comm.empty() && comm.back() == '\n') comm.pop_back();
        counts.name = comm;
        std::istringstream schedstat(read_file(entry.path() / "schedstat"));
        std::int64_t on_cpu_ns = 0;
        std::int64_t waiting_ns = 0;
        schedstat >> on_cpu_ns >> waiting_ns >> counts.runs;
        std::istringstream status(read_file(entry.path() / "status"));
        for (std::string line; std::getline(status, line);) {
            if (line.rfind("voluntary_ctxt_switches:", 0) == 0 ||
                line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
                counts.switches += std::atoll(line.substr(line.find(':') + 1).c_str());
            }
        }
        threads[entry.path().filename().string()] = counts;
    }
    return threads;
}

// A loopback port nothing listens on: bound once to learn a free number, then closed.
int closed_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot bind a loopback port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

// A battery as the kernel shows it under /sys/class/power_supply, half full and discharging.
void write_power_fixture(const fs::path& root) {
    fs::create_directories(root / "BAT0");
    std::ofstream(root / "BAT0" / "type") << "Battery\n";
    std::ofstream(root / "BAT0" / "present") << "1\n";
    std::ofstream(root / "BAT0" / "capacity") << "55\n";
    std::ofstream(root / "BAT0" / "status") << "Discharging\n";
}

// The lines a field kit holds open (README, "Wiring a Raspberry Pi"), on the simulated backend.
constexpr const char* gpio_table = R"(
[gpio]
backend = "simulated"
[gpio.button]
line = 17
active_low = true
[gpio.dock]
line = 27
[gpio.status_led]
line = 22
[gpio.battery_led]
line = 23
)";

struct Result {
    std::string label;
    double seconds = 0;
    std::int64_t runs = 0;
    std::int64_t switches = 0;
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_name;  // runs, switches
};

Result measure(const std::string& label, const fs::path& config, const bench::TempDir& dir,
               const Options& options, bool write_records) {
    const auto socket = dir / "control.sock";
    bench::DaemonProcess daemon(FIELDLOGD_PATH, config, socket, dir / "fieldlogd.log");
    if (write_records) {
        bench::ControlClient client(socket);
        client.call("inspection.start", {{"site_id", "wwtp-east"},
                                         {"kind", "wastewater_discharge"},
                                         {"inspectors", json::array{"bench"}}});
        for (int i = 0; i < 19; ++i) {
            client.call("measurement.add", {{"parameter", "COD"},
                                            {"value", 40 + i},
                                            {"unit", "mg/L"},
                                            {"sampling_point", "outfall"}});
        }
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(options.settle_seconds));
    const auto before = read_threads(daemon.pid());
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(options.seconds));
    const auto after = read_threads(daemon.pid());
    Result result;
    result.label = label;
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const auto& [tid, counts] : after) {
        auto it = before.find(tid);
        std::int64_t runs = counts.runs - (it == before.end() ? 0 : it->second.runs);
        std::int64_t switches = counts.switches - (it == before.end() ? 0 : it->second.switches);
        result.runs += runs;
        result.switches += switches;
        auto& named = result.by_name[counts.name];
        named.first += runs;
        named.second += switches;
    }
    if (int status = daemon.stop(); status != 0) {
        throw std::runtime_error(label + ": fieldlogd did not exit cleanly (wait status " +
                                 std::to_string(status) + "), see " +
                                 (dir / "fieldlogd.log").string());
    }
    return result;
}

int run(const Options& options) {
    std::printf("bench_idle_wakeups\n");
    std::printf("  machine: %s\n", bench::describe_machine().c_str());
    std::printf("  daemon:  %s (config from the source tree, paths into a temp dir)\n",
                FIELDLOGD_PATH);
    std::printf(
        "  window:  %.0f s after %.0f s to settle; wake-ups = times a daemon thread was "
        "scheduled in (/proc/PID/task/TID/schedstat)\n\n",
        options.seconds, options.settle_seconds);
    std::fflush(stdout);

    std::vector<Result> results;
    {
        bench::TempDir dir("fieldlog-bench-idle");
        auto config = bench::write_daemon_config(FIELDLOG_SOURCE_DIR, dir.path());
        results.push_back(measure("offline (shipped config)", config, dir, options, false));
    }
    {
        bench::TempDir dir("fieldlog-bench-idle");
        bench::write_secret_file(dir / "device.token", "unused-token\n");
        auto config = bench::write_daemon_sync_config(
            FIELDLOG_SOURCE_DIR, dir.path(), "http://127.0.0.1:" + std::to_string(closed_port()),
            dir / "device.token", {});
        write_power_fixture(dir / "power_supply");
        std::ofstream(config, std::ios::app)
            << "\n[power]\nsysfs_root = \"" << (dir / "power_supply").string() << "\"\n"
            << gpio_table;
        results.push_back(measure("field kit ([sync] unreachable, [gpio], [power], 20 waiting)",
                                  config, dir, options, true));
    }

    std::printf("%-58s %10s %12s %10s  %s\n", "configuration", "wake-ups", "per minute", "switches",
                "target <= 5/min");
    for (const Result& r : results) {
        double per_minute = static_cast<double>(r.runs) * 60.0 / r.seconds;
        std::printf("%-58s %10lld %12s %10lld  %s\n", r.label.c_str(),
                    static_cast<long long>(r.runs), bench::fixed(per_minute, 1).c_str(),
                    static_cast<long long>(r.switches),
                    per_minute <= target_per_minute ? "PASS" : "MISS");
        for (const auto& [name, counts] : r.by_name) {
            std::printf("    thread %-15s %10lld wake-ups, %lld switches\n", name.c_str(),
                        static_cast<long long>(counts.first),
                        static_cast<long long>(counts.second));
        }
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::cerr << "bench_idle_wakeups: " << e.what() << "\n";
        return 1;
    }
}
