// bench_sync_drain: a device that was offline long enough to hold N records (default 100,000)
// drains its outbox to the office server: how long the drain takes, and how much memory the
// daemon needs for it. A real fieldlog-server and a real fieldlogd on loopback, plain HTTP. The
// daemon stores the measurements through its control socket while its uploader is stopped (a
// wrong token: the first attempt gets 401); then the right token goes in, the daemon's peak RSS
// is reset (/proc/PID/clear_refs), and the clock runs from the `sync` operation (wait=true)
// until it answers "drained". Reported: drain time, entries per second, the daemon's VmHWM over
// the drain (and VmRSS sampled every 20 ms), beside its VmHWM from the writes before. The tests
// keep a 10,000-record variant (tests/integration/sync_delivery_test.cpp).
#include <unistd.h>

#include <atomic>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

#include "bench_support.hpp"
#include "daemon_harness.hpp"
#include "sync_harness.hpp"

namespace {

namespace json = boost::json;
namespace bench = fieldlog::bench;
using namespace std::chrono_literals;

const std::string device_id = "handheld-01";  // as in the shipped config/fieldlogd.toml

struct Options {
    std::int64_t records = 100'000;
    int clients = 8;
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--records" && i + 1 < argc) {
            o.records = std::atoll(argv[++i]);
        } else if (arg == "--clients" && i + 1 < argc) {
            o.clients = std::atoi(argv[++i]);
        } else {
            std::cerr << "usage: bench_sync_drain [--records N (default 100000)] [--clients C "
                         "(default 8, to pre-write)]\n";
            std::exit(2);
        }
    }
    if (o.records < 1 || o.records > 1'000'000 || o.clients < 1 || o.clients > 31) {
        std::cerr << "bench_sync_drain: --records in [1, 1000000], --clients in [1, 31]\n";
        std::exit(2);
    }
    return o;
}

std::int64_t as_int(const json::value& v) { return v.to_number<std::int64_t>(); }

json::object daemon_status(const std::filesystem::path& socket) {
    bench::ControlClient client(socket);
    return client.call("status").as_object();
}

// Resets VmHWM to the current RSS (Linux 4.0 and later); false when not allowed.
bool reset_peak_rss(pid_t pid) {
    std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
    out << "5";
    out.close();
    return static_cast<bool>(out);
}

double mib(std::int64_t kib) { return static_cast<double>(kib) / 1024.0; }

int run(const Options& o) {
    std::printf("bench_sync_drain\n");
    std::printf("  machine:  %s\n", bench::describe_machine().c_str());
    bench::TempDir dir("fieldlog-bench-drain");
    std::printf("  temp dir: %s on %s\n", dir.path().c_str(),
                bench::describe_filesystem(dir.path()).c_str());
    std::printf("  server:   %s (shipped config, 127.0.0.1:0, no TLS)\n", FIELDLOG_SERVER_PATH);
    std::printf("  device:   %s (shipped config, [sync] to the server over plain HTTP)\n",
                FIELDLOGD_PATH);
    std::fflush(stdout);

    std::string admin_token;
    auto server_config = bench::write_server_config(FIELDLOG_SOURCE_DIR, dir.path(), admin_token);
    bench::ServerProcess server(FIELDLOG_SERVER_PATH, server_config, dir.path(),
                                dir / "server.log");
    bench::AdminClient admin(server.url(), admin_token);
    const std::string token = admin.enrol(device_id);
    const auto token_file = dir / "device.token";
    bench::write_secret_file(token_file, "wrong-token-while-offline\n");
    auto config = bench::write_daemon_sync_config(FIELDLOG_SOURCE_DIR, dir.path(), server.url(),
                                                  token_file, {});
    const auto socket = dir / "control.sock";
    bench::DaemonProcess daemon(FIELDLOGD_PATH, config, socket, dir / "fieldlogd.log");
    {
        bench::ControlClient client(socket);
        client.call("inspection.start", {{"site_id", "wwtp-east"},
                                         {"kind", "wastewater_discharge"},
                                         {"inspectors", json::array{"bench"}}});
    }
    auto written = bench::run_measurement_clients(socket, o.clients, 1800s, o.records);
    if (written.acknowledged != o.records) {
        throw std::runtime_error("only " + std::to_string(written.acknowledged) + " of " +
                                 std::to_string(o.records) + " measurements were acknowledged");
    }
    for (int i = 0;; ++i) {
        auto status = daemon_status(socket);
        if (status.at("sync").at("state").as_string() == "stopped") break;
        if (i >= 300) throw std::runtime_error("the uploader did not stop on the wrong token");
        std::this_thread::sleep_for(50ms);
    }
    if (as_int(admin.device(device_id).at("acked_seq")) != 0) {
        throw std::runtime_error("entries reached the server before the drain");
    }
    const std::int64_t pending = as_int(daemon_status(socket).at("outbox").at("pending_entries"));
    const std::int64_t hwm_writes = bench::process_status(daemon.pid())["VmHWM"];
    const bool reset = reset_peak_rss(daemon.pid());

    bench::write_secret_file(token_file, token + "\n");
    std::atomic<bool> draining{true};
    std::int64_t rss_max = 0;
    std::thread sampler([&] {
        while (draining) {
            rss_max = std::max(rss_max, bench::process_status(daemon.pid())["VmRSS"]);
            std::this_thread::sleep_for(20ms);
        }
    });
    const double daemon_cpu0 = bench::cpu_seconds(daemon.pid());
    const auto t0 = std::chrono::steady_clock::now();
    json::object result;
    try {
        bench::ControlClient client(socket, 1800s);
        result = client.call("sync", {{"wait", true}}).as_object();
    } catch (...) {
        draining = false;
        sampler.join();
        throw;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    draining = false;
    sampler.join();
    const double daemon_cpu = bench::cpu_seconds(daemon.pid()) - daemon_cpu0;
    const std::int64_t hwm_drain = bench::process_status(daemon.pid())["VmHWM"];
    if (!result.at("drained").as_bool()) {
        throw std::runtime_error("sync did not drain: " + json::serialize(result));
    }

    auto after = daemon_status(socket);
    const std::int64_t head_seq = as_int(after.at("outbox").at("head_seq"));
    if (as_int(after.at("outbox").at("pending_entries")) != 0 ||
        as_int(admin.device(device_id).at("acked_seq")) != head_seq) {
        throw std::runtime_error("the server does not hold the device's whole chain");
    }
    json::object verify = admin.get("/v1/devices/" + device_id + "/verify");
    if (!verify.at("ok").as_bool() || as_int(verify.at("entries_checked")) != head_seq) {
        throw std::runtime_error("verify on the server failed: " + json::serialize(verify));
    }
    if (int s = daemon.stop(); s != 0) throw std::runtime_error("fieldlogd did not stop cleanly");
    if (int s = server.stop(); s != 0) {
        throw std::runtime_error("fieldlog-server did not stop cleanly");
    }

    std::printf("\nbench_sync_drain: %lld measurements written offline by %d clients (%.0f/s)\n",
                static_cast<long long>(o.records), o.clients, written.per_second());
    std::printf("%-46s %12lld\n", "entries in the outbox before the drain",
                static_cast<long long>(pending));
    std::printf("%-46s %12.2f\n", "drain time, s", seconds);
    std::printf("%-46s %12.0f\n", "entries/s", static_cast<double>(pending) / seconds);
    std::printf("%-46s %12.2f\n", "daemon CPU during the drain, s", daemon_cpu);
    std::printf("%-46s %12.1f\n", "daemon VmHWM after the writes, MiB", mib(hwm_writes));
    std::printf("%-46s %12.1f%s\n", "daemon VmHWM over the drain, MiB", mib(hwm_drain),
                reset ? "" : " (not reset: the lifetime peak)");
    std::printf("%-46s %12.1f\n", "daemon VmRSS sampled max over the drain, MiB", mib(rss_max));
    std::printf("server: acked_seq = head_seq = %lld, verify ok over every entry\n",
                static_cast<long long>(head_seq));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);
    ::alarm(3600);  // a hung run must not hang the benchmark (the children die with it)
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::cerr << "bench_sync_drain: " << e.what() << "\n";
        return 1;
    }
}
