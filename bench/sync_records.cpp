// bench_sync_records: records per second from a device's outbox into the office server, end to
// end on loopback: a real fieldlog-server process and a real fieldlogd process (its uploader:
// libcurl multi on the daemon's event loop), plain HTTP on 127.0.0.1. The daemon first stores N
// measurements through its control socket while its uploader is stopped (its token file holds a
// wrong token, so the first attempt gets 401); then the right token goes in and the clock runs
// from the `sync` operation with wait=true until it answers "drained". Reported: entries per
// second, and the server's CPU time (utime + stime from /proc/PID/stat, before and after) per
// 1,000 entries ingested. A plain main: the work spans three processes.
#include <unistd.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "daemon_harness.hpp"
#include "sync_harness.hpp"

namespace {

namespace json = boost::json;
namespace bench = fieldlog::bench;
using namespace std::chrono_literals;

// The device id of the shipped config/fieldlogd.toml, which the benchmark keeps.
const std::string device_id = "handheld-01";

struct Options {
    std::int64_t records = 20000;
    int rounds = 3;
    int clients = 8;
    int batch_entries = 0;  // 0: the shipped sync.batch_max_entries
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--records" && i + 1 < argc) {
            o.records = std::atoll(argv[++i]);
        } else if (arg == "--rounds" && i + 1 < argc) {
            o.rounds = std::atoi(argv[++i]);
        } else if (arg == "--clients" && i + 1 < argc) {
            o.clients = std::atoi(argv[++i]);
        } else if (arg == "--batch-entries" && i + 1 < argc) {
            o.batch_entries = std::atoi(argv[++i]);
        } else {
            std::cerr << "usage: bench_sync_records [--records N (default 20000)] [--rounds R "
                         "(default 3)] [--clients C (default 8, to pre-write)] [--batch-entries "
                         "E (default: the shipped 500)]\n";
            std::exit(2);
        }
    }
    if (o.records < 1 || o.records > 1000000 || o.rounds < 1 || o.rounds > 20 || o.clients < 1 ||
        o.clients > 31 || o.batch_entries < 0 || o.batch_entries > 1000) {
        std::cerr << "bench_sync_records: --records in [1, 1000000], --rounds in [1, 20], "
                     "--clients in [1, 31], --batch-entries in [1, 1000]\n";
        std::exit(2);
    }
    return o;
}

struct Round {
    std::int64_t entries = 0;  // entries the drain delivered (measurements, inspection, logs)
    std::int64_t batches = 0;  // signed heads the server recorded during the drain
    double seconds = 0;
    double server_cpu = 0;
    double daemon_cpu = 0;
    double write_rate = 0;  // measurement.add/s while the outbox was filled
    double per_second() const { return seconds > 0 ? static_cast<double>(entries) / seconds : 0; }
    double server_ms_per_1000() const {
        return entries > 0 ? server_cpu * 1e6 / static_cast<double>(entries) : 0;
    }
    double daemon_ms_per_1000() const {
        return entries > 0 ? daemon_cpu * 1e6 / static_cast<double>(entries) : 0;
    }
};

json::object daemon_status(const std::filesystem::path& socket) {
    bench::ControlClient client(socket);
    return client.call("status").as_object();
}

std::int64_t as_int(const json::value& v) { return v.to_number<std::int64_t>(); }

Round run_round(const Options& o, int index) {
    bench::TempDir dir("fieldlog-bench-sync");
    if (index == 0) {
        std::printf("  temp dir: %s on %s\n", dir.path().c_str(),
                    bench::describe_filesystem(dir.path()).c_str());
        std::printf("  disk:     %.0f fdatasync/s (4 KiB write + fdatasync, 1 s)\n",
                    bench::fdatasync_rate(dir.path(), 1s));
    }
    std::string admin_token;
    auto server_config = bench::write_server_config(FIELDLOG_SOURCE_DIR, dir.path(), admin_token);
    bench::ServerProcess server(FIELDLOG_SERVER_PATH, server_config, dir.path(),
                                dir / "server.log");
    bench::AdminClient admin(server.url(), admin_token);
    const std::string token = admin.enrol(device_id);
    const auto token_file = dir / "device.token";
    bench::write_secret_file(token_file, "wrong-token-until-the-outbox-is-full\n");
    std::map<std::string, std::string> overrides;
    if (o.batch_entries > 0) overrides["batch_max_entries"] = std::to_string(o.batch_entries);
    auto config = bench::write_daemon_sync_config(FIELDLOG_SOURCE_DIR, dir.path(), server.url(),
                                                  token_file, overrides);
    const auto socket = dir / "control.sock";

    Round r;
    bench::DaemonProcess daemon(FIELDLOGD_PATH, config, socket, dir / "fieldlogd.log");
    {
        bench::ControlClient client(socket);
        client.call("inspection.start", {{"site_id", "wwtp-east"},
                                         {"kind", "wastewater_discharge"},
                                         {"inspectors", json::array{"bench"}}});
    }
    auto written = bench::run_measurement_clients(socket, o.clients, 600s, o.records);
    if (written.acknowledged != o.records) {
        throw std::runtime_error("only " + std::to_string(written.acknowledged) + " of " +
                                 std::to_string(o.records) + " measurements were acknowledged");
    }
    r.write_rate = written.per_second();
    // The uploader tried (a full batch goes at once, any batch after batch_max_age_ms), got 401
    // and stopped: nothing has reached the server yet.
    json::object before;
    for (int i = 0;; ++i) {
        before = daemon_status(socket);
        if (before.at("sync").at("state").as_string() == "stopped") break;
        if (i >= 300) {
            throw std::runtime_error("the uploader did not stop on the wrong token within 15 s: " +
                                     json::serialize(before.at("sync")));
        }
        std::this_thread::sleep_for(50ms);
    }
    if (as_int(admin.device(device_id).at("acked_seq")) != 0) {
        throw std::runtime_error("entries reached the server before the timed drain");
    }
    if (as_int(before.at("outbox").at("pending_entries")) < o.records) {
        throw std::runtime_error("the outbox holds fewer entries than measurements written");
    }

    bench::write_secret_file(token_file, token + "\n");
    const double server_cpu0 = bench::cpu_seconds(server.pid());
    const double daemon_cpu0 = bench::cpu_seconds(daemon.pid());
    auto t0 = std::chrono::steady_clock::now();
    {
        bench::ControlClient client(socket, 600s);
        auto result = client.call("sync", {{"wait", true}}).as_object();
        if (!result.at("drained").as_bool()) {
            throw std::runtime_error("sync did not drain: " + json::serialize(result));
        }
    }
    auto t1 = std::chrono::steady_clock::now();
    r.server_cpu = bench::cpu_seconds(server.pid()) - server_cpu0;
    r.daemon_cpu = bench::cpu_seconds(daemon.pid()) - daemon_cpu0;
    r.seconds = std::chrono::duration<double>(t1 - t0).count();

    // What the server holds: every entry once, the chain verified, the measurements as records.
    json::object after = daemon_status(socket);
    const std::int64_t head_seq = as_int(after.at("outbox").at("head_seq"));
    json::object row = admin.device(device_id);
    if (as_int(row.at("acked_seq")) != head_seq) {
        throw std::runtime_error("the server acknowledged " + json::serialize(row.at("acked_seq")) +
                                 " but the device's chain ends at " + std::to_string(head_seq));
    }
    json::object verify = admin.get("/v1/devices/" + device_id + "/verify");
    if (!verify.at("ok").as_bool()) {
        throw std::runtime_error("verify on the server failed: " + json::serialize(verify));
    }
    std::int64_t measurements = 0;
    for (std::int64_t after_seq = 0;;) {
        json::object page =
            admin.get("/v1/records?device_id=" + device_id +
                      "&kind=measurement&limit=1000&after_seq=" + std::to_string(after_seq));
        const json::array& list = page.at("records").as_array();
        measurements += static_cast<std::int64_t>(list.size());
        if (list.size() < 1000) break;
        after_seq = as_int(list.back().at("seq"));
    }
    if (measurements != o.records) {
        throw std::runtime_error("the server holds " + std::to_string(measurements) +
                                 " measurement records, not " + std::to_string(o.records));
    }
    // The whole chain went in this drain (the server held nothing before it), including the
    // device-log entries the uploader wrote about its own stop and restart.
    r.entries = head_seq;
    r.batches = as_int(verify.at("heads_checked"));
    if (int s = daemon.stop(); s != 0) {
        throw std::runtime_error("fieldlogd did not stop cleanly (wait status " +
                                 std::to_string(s) + ")");
    }
    if (int s = server.stop(); s != 0) {
        throw std::runtime_error("fieldlog-server did not stop cleanly (wait status " +
                                 std::to_string(s) + ")");
    }
    return r;
}

int run(const Options& o) {
    std::printf("bench_sync_records\n");
    std::printf("  machine:  %s\n", bench::describe_machine().c_str());
    std::printf(
        "  server:   %s, config from %s/sync/server/fieldlog-server.toml (127.0.0.1:0, "
        "no TLS, paths into the temp dir)\n",
        FIELDLOG_SERVER_PATH, FIELDLOG_SOURCE_DIR);
    std::printf(
        "  device:   %s, config from %s/config/fieldlogd.toml with [sync] url, token_file, "
        "allow_plain_http = true%s\n",
        FIELDLOGD_PATH, FIELDLOG_SOURCE_DIR,
        o.batch_entries > 0 ? (", batch_max_entries = " + std::to_string(o.batch_entries)).c_str()
                            : "");
    std::printf(
        "  each round: fresh server and device, %lld measurements pre-written by %d "
        "clients, then a timed `sync` (wait=true) until drained; %d rounds\n",
        static_cast<long long>(o.records), o.clients, o.rounds);
    std::fflush(stdout);
    std::vector<Round> rounds;
    for (int i = 0; i < o.rounds; ++i) {
        rounds.push_back(run_round(o, i));
        const Round& r = rounds.back();
        std::printf(
            "  round %d: %lld entries in %lld batches, %.3f s, %.0f entries/s; server CPU "
            "%.3f s (%.1f ms per 1,000); daemon CPU %.3f s (%.1f ms per 1,000); "
            "pre-write %.0f/s\n",
            i + 1, static_cast<long long>(r.entries), static_cast<long long>(r.batches), r.seconds,
            r.per_second(), r.server_cpu, r.server_ms_per_1000(), r.daemon_cpu,
            r.daemon_ms_per_1000(), r.write_rate);
        std::fflush(stdout);
    }
    std::vector<Round> sorted = rounds;
    std::sort(sorted.begin(), sorted.end(),
              [](const Round& a, const Round& b) { return a.per_second() < b.per_second(); });
    const Round& median = sorted[sorted.size() / 2];
    std::printf("\nbench_sync_records: median of %d rounds (by entries/s)\n", o.rounds);
    std::printf("%-44s %12s\n", "entries drained (records incl. inspection, logs)",
                std::to_string(median.entries).c_str());
    std::printf("%-44s %12lld (%.0f entries each)\n", "batches",
                static_cast<long long>(median.batches),
                median.batches > 0
                    ? static_cast<double>(median.entries) / static_cast<double>(median.batches)
                    : 0.0);
    std::printf("%-44s %12.3f\n", "drain time, s", median.seconds);
    std::printf("%-44s %12.0f\n", "records/s end to end", median.per_second());
    std::printf("%-44s %12.1f\n", "server CPU ms per 1,000 records", median.server_ms_per_1000());
    std::printf("%-44s %12.1f\n", "device (fieldlogd) CPU ms per 1,000 records",
                median.daemon_ms_per_1000());
    std::printf("%-44s %12s\n", "range of records/s over rounds",
                (bench::fixed(sorted.front().per_second(), 0) + "-" +
                 bench::fixed(sorted.back().per_second(), 0))
                    .c_str());
    std::printf(
        "every round: the server acknowledged the device's whole chain, verify ok, all "
        "measurements held as records; both processes exited 0\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);
    // A safety net: a hung drain must not hang the benchmark (the children die with it).
    ::alarm(static_cast<unsigned>(120 + 120 * o.rounds));
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::cerr << "bench_sync_records: " << e.what() << "\n";
        return 1;
    }
}
