// bench_daemon_rss: fieldlogd's resident memory (VmRSS, VmHWM from /proc/PID/status) idle
// after start, right after 100,000 measurements were stored through the control socket by
// several clients at once, and idle again; then where the resident pages are, by mapping.
// --env NAME=VALUE starts the daemon with that variable set (e.g. MALLOC_ARENA_MAX=1), to see
// what the C library's allocator contributes without changing the daemon.
#include <unistd.h>

#include <boost/json/array.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "daemon_harness.hpp"

namespace {

namespace json = boost::json;
namespace bench = fieldlog::bench;
using namespace std::chrono_literals;

constexpr std::int64_t target_kib = 16 * 1024;

struct Options {
    std::int64_t records = 100'000;
    int clients = 16;
    double idle_seconds = 3;
    std::vector<std::string> env;
};

Options parse(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--records" && i + 1 < argc) {
            options.records = std::atoll(argv[++i]);
        } else if (arg == "--clients" && i + 1 < argc) {
            options.clients = std::atoi(argv[++i]);
        } else if (arg == "--idle" && i + 1 < argc) {
            options.idle_seconds = std::strtod(argv[++i], nullptr);
        } else if (arg == "--env" && i + 1 < argc &&
                   std::string(argv[i + 1]).find('=') != std::string::npos) {
            options.env.emplace_back(argv[++i]);
        } else {
            std::cerr << "usage: bench_daemon_rss [--records N (default 100000)] [--clients N "
                         "(default 16)] [--idle S (default 3)] [--env NAME=VALUE]...\n";
            std::exit(2);
        }
    }
    if (options.records < 1 || options.records > 1'000'000 || options.clients < 1 ||
        options.clients > 31 || options.idle_seconds < 0 || options.idle_seconds > 60) {
        std::cerr << "bench_daemon_rss: --records in [1, 1000000], --clients in [1, 31], --idle "
                     "in [0, 60]\n";
        std::exit(2);
    }
    return options;
}

std::string mib(std::int64_t kib) { return bench::fixed(static_cast<double>(kib) / 1024.0, 1); }

struct Snapshot {
    std::string label;
    std::map<std::string, std::int64_t> status;
};

int run(const Options& options) {
    bench::TempDir dir("fieldlog-bench-rss");
    std::printf("bench_daemon_rss\n");
    std::printf("  machine:  %s\n", bench::describe_machine().c_str());
    std::printf("  temp dir: %s on %s\n", dir.path().c_str(),
                bench::describe_filesystem(dir.path()).c_str());
    std::string env_text;
    for (const auto& e : options.env) env_text += e + " ";
    std::printf("  daemon:   %s %s(config from the source tree, paths into the temp dir)\n",
                FIELDLOGD_PATH, env_text.c_str());
    std::printf(
        "  load:     %lld measurement.add through the socket, %d clients, one request "
        "outstanding each\n\n",
        static_cast<long long>(options.records), options.clients);
    std::fflush(stdout);

    auto config = bench::write_daemon_config(FIELDLOG_SOURCE_DIR, dir.path());
    const auto socket = dir / "control.sock";
    const auto idle = std::chrono::duration<double>(options.idle_seconds);

    bench::DaemonProcess daemon(FIELDLOGD_PATH, config, socket, dir / "fieldlogd.log", options.env);
    std::vector<Snapshot> snapshots;
    std::this_thread::sleep_for(idle);
    snapshots.push_back({"idle after start", bench::process_status(daemon.pid())});

    {
        bench::ControlClient client(socket);
        client.call("inspection.start", {{"site_id", "wwtp-east"},
                                         {"kind", "wastewater_discharge"},
                                         {"inspectors", json::array{"bench"}}});
    }
    auto load = bench::run_measurement_clients(socket, options.clients, 240s, options.records);
    snapshots.push_back({"right after " + std::to_string(load.acknowledged) + " records",
                         bench::process_status(daemon.pid())});
    std::int64_t stored = 0;
    std::int64_t database_bytes = 0;
    {
        bench::ControlClient client(socket);
        auto status = client.call("status");
        stored = status.at("counts").at("measurements").to_number<std::int64_t>();
        database_bytes = status.at("database_bytes").to_number<std::int64_t>();
    }
    std::this_thread::sleep_for(idle);
    snapshots.push_back({"idle again", bench::process_status(daemon.pid())});
    auto mappings = bench::resident_by_mapping(daemon.pid());
    daemon.stop();

    std::printf("stored %lld measurements in %.1f s (%.0f/s), database %s MiB\n\n",
                static_cast<long long>(stored), load.seconds, load.per_second(),
                mib(database_bytes / 1024).c_str());
    std::printf("%-28s %9s %9s %9s %9s %9s %8s  %s\n", "state (MiB)", "VmRSS", "VmHWM", "RssAnon",
                "RssFile", "RssShmem", "threads", "VmRSS < 16 MiB");
    for (const Snapshot& s : snapshots) {
        auto get = [&](const char* key) {
            auto it = s.status.find(key);
            return it == s.status.end() ? std::int64_t{0} : it->second;
        };
        std::printf("%-28s %9s %9s %9s %9s %9s %8lld  %s\n", s.label.c_str(),
                    mib(get("VmRSS")).c_str(), mib(get("VmHWM")).c_str(),
                    mib(get("RssAnon")).c_str(), mib(get("RssFile")).c_str(),
                    mib(get("RssShmem")).c_str(), static_cast<long long>(get("Threads")),
                    get("VmRSS") < target_kib ? "PASS" : "MISS");
    }
    std::printf("\nresident by mapping, idle again (KiB, largest first):\n");
    std::size_t shown = 0;
    for (const auto& [name, kib] : mappings) {
        if (kib == 0 || shown++ == 14) break;
        std::printf("  %8lld  %s\n", static_cast<long long>(kib), name.c_str());
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options options = parse(argc, argv);
    ::alarm(300);  // a safety net: a hung daemon must not hang the benchmark
    try {
        return run(options);
    } catch (const std::exception& e) {
        std::cerr << "bench_daemon_rss: " << e.what() << "\n";
        return 1;
    }
}
