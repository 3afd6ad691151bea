// bench_daemon_clients: acknowledged durable writes per second through a real fieldlogd, with
// 1 and 8 clients on their own connections each sending measurement.add back to back (one
// request outstanding each), against the plain sqlite3 single-record loop on the same disk in
// the same run. A plain main rather than Google Benchmark: the work spans two processes and
// the measurement is a rate over a fixed time, not a per-iteration cost.
#include <sys/resource.h>
#include <unistd.h>

#include <boost/json/array.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>

#include "bench_support.hpp"
#include "daemon_harness.hpp"

namespace {

namespace json = boost::json;
namespace bench = fieldlog::bench;
using namespace std::chrono_literals;

constexpr double target_ratio = 5.0;

// CPU seconds spent during one phase by the daemon and by the client threads.
struct Cpu {
    double daemon = 0;
    double clients = 0;
};

double self_cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Options {
    double seconds = 5;
    int clients = 8;
};

Options parse(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--seconds" && i + 1 < argc) {
            options.seconds = std::strtod(argv[++i], nullptr);
        } else if (arg == "--clients" && i + 1 < argc) {
            options.clients = std::atoi(argv[++i]);
        } else {
            std::cerr << "usage: bench_daemon_clients [--seconds S (default 5, per phase)] "
                         "[--clients N (default 8)]\n";
            std::exit(2);
        }
    }
    if (options.seconds <= 0 || options.seconds > 60 || options.clients < 1 ||
        options.clients > 31) {
        std::cerr << "bench_daemon_clients: --seconds must be in (0, 60], --clients in [1, 31]\n";
        std::exit(2);
    }
    return options;
}

int run(const Options& options) {
    const std::chrono::duration<double> phase(options.seconds);
    bench::TempDir dir("fieldlog-bench-daemon");
    std::printf("bench_daemon_clients\n");
    std::printf("  machine:  %s\n", bench::describe_machine().c_str());
    std::printf("  temp dir: %s on %s\n", dir.path().c_str(),
                bench::describe_filesystem(dir.path()).c_str());
    std::printf("  daemon:   %s, config from %s/config/fieldlogd.toml (paths into the temp dir)\n",
                FIELDLOGD_PATH, FIELDLOG_SOURCE_DIR);
    std::printf(
        "  pragmas:  journal_mode=WAL, synchronous=FULL (daemon: store.synchronous=full)\n");
    std::printf("  each phase runs %.1f s\n", options.seconds);
    std::fflush(stdout);

    std::printf("  disk:     %.0f fdatasync/s (4 KiB write + fdatasync, 1 s)\n\n",
                bench::fdatasync_rate(dir.path(), 1s));
    std::fflush(stdout);

    auto config = bench::write_daemon_config(FIELDLOG_SOURCE_DIR, dir.path());
    const auto socket = dir / "control.sock";

    bench::Rate plain_before = bench::run_plain_loop(dir.path(), 1, phase);

    bench::ClientRun one;
    bench::ClientRun many;
    Cpu one_cpu;
    Cpu many_cpu;
    std::int64_t warmup = 0;
    std::int64_t stored = 0;
    {
        bench::DaemonProcess daemon(FIELDLOGD_PATH, config, socket, dir / "fieldlogd.log");
        {
            bench::ControlClient client(socket);
            client.call("inspection.start", {{"site_id", "wwtp-east"},
                                             {"kind", "wastewater_discharge"},
                                             {"inspectors", json::array{"bench"}}});
        }
        warmup = bench::run_measurement_clients(socket, 1, 500ms).acknowledged;
        auto measure = [&](int clients, Cpu& cpu) {
            double daemon_before = bench::cpu_seconds(daemon.pid());
            double self_before = self_cpu_seconds();
            auto result = bench::run_measurement_clients(socket, clients, phase);
            cpu.daemon = bench::cpu_seconds(daemon.pid()) - daemon_before;
            cpu.clients = self_cpu_seconds() - self_before;
            return result;
        };
        one = measure(1, one_cpu);
        many = measure(options.clients, many_cpu);
        {
            bench::ControlClient client(socket);
            auto status = client.call("status");
            stored = status.at("counts").at("measurements").to_number<std::int64_t>();
        }
        int exit_status = daemon.stop();
        if (exit_status != 0) {
            throw std::runtime_error("fieldlogd did not stop cleanly (wait status " +
                                     std::to_string(exit_status) + ")");
        }
    }
    // Every acknowledged write must be in the store: the daemon's own count says so.
    const std::int64_t acknowledged = warmup + one.acknowledged + many.acknowledged;
    if (stored != acknowledged) {
        throw std::runtime_error("fieldlogd holds " + std::to_string(stored) +
                                 " measurements but acknowledged " + std::to_string(acknowledged));
    }

    bench::Rate plain_after = bench::run_plain_loop(dir.path(), 1, phase);
    const double baseline = (plain_before.rows_per_second() + plain_after.rows_per_second()) / 2;

    std::printf("%-40s %10s %10s %9s %9s %9s %9s  %s\n", "case", "writes", "per s", "p50 ms",
                "p99 ms", "vs plain", "target", "verdict");
    auto plain_line = [](const char* label, const bench::Rate& r) {
        std::printf("%-40s %10lld %10.0f %9s %9s %9s %9s\n", label, static_cast<long long>(r.rows),
                    r.rows_per_second(), "-", "-", "-", "-");
    };
    plain_line("plain sqlite3 1-row commits, before", plain_before);
    plain_line("plain sqlite3 1-row commits, after", plain_after);
    std::printf("%-40s %10s %10.0f\n", "plain baseline (mean of both)", "", baseline);
    auto daemon_line = [&](const std::string& label, const bench::ClientRun& r, double target) {
        double ratio = baseline > 0 ? r.per_second() / baseline : 0;
        std::string target_text = target > 0 ? ">=" + bench::fixed(target, 1) + "x" : "-";
        std::printf("%-40s %10lld %10.0f %9.2f %9.2f %8.2fx %9s  %s\n", label.c_str(),
                    static_cast<long long>(r.acknowledged), r.per_second(), r.p50_ms, r.p99_ms,
                    ratio, target_text.c_str(),
                    target > 0 ? bench::verdict(ratio, target).c_str() : "reference");
    };
    daemon_line("fieldlogd measurement.add, 1 client", one, 0);
    daemon_line("fieldlogd measurement.add, " + std::to_string(options.clients) + " clients", many,
                options.clients == 8 ? target_ratio : 0);
    auto cpu_line = [&](const std::string& label, const bench::ClientRun& r, const Cpu& cpu) {
        auto per_write = [&](double seconds) {
            return r.acknowledged > 0 ? seconds * 1e6 / static_cast<double>(r.acknowledged) : 0;
        };
        std::printf("  %-38s daemon %5.0f us CPU/write (%3.0f%% of a core), clients %5.0f us\n",
                    label.c_str(), per_write(cpu.daemon), 100 * cpu.daemon / r.seconds,
                    per_write(cpu.clients));
    };
    std::printf("\nCPU per acknowledged write (2 cores shared by daemon and clients):\n");
    cpu_line("1 client", one, one_cpu);
    cpu_line(std::to_string(options.clients) + " clients", many, many_cpu);
    std::printf("\nall %lld acknowledged measurements were in the store at the end (status)\n",
                static_cast<long long>(acknowledged));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options options = parse(argc, argv);
    // A safety net: a hung daemon must not hang the benchmark (the daemon dies with it).
    ::alarm(static_cast<unsigned>(60 + 6 * options.seconds));
    try {
        return run(options);
    } catch (const std::exception& e) {
        std::cerr << "bench_daemon_clients: " << e.what() << "\n";
        return 1;
    }
}
