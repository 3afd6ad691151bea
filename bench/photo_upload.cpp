// bench_photo_upload: photo upload throughput into the office server, the device's resumable
// upload against curl (the command-line tool) in the same run, to the same fieldlog-server
// process, over plain HTTP on 127.0.0.1.
//
// Device: a real fieldlogd takes a ~20 MiB JPEG with photo.add (not timed), then the clock runs
// from the `sync` operation (wait=true) until "drained": HEAD, PATCH chunks of sync.chunk_bytes
// read from its blob store, and the batch POST holding the photo record. curl: one curl process
// sending the same number of chunked PATCHes of the same size on one kept-alive connection
// (`--next` between requests; each chunk pre-split into a file, `--data-binary @file`, the same
// headers as the device, `Expect:` off as the device has it), timed from fork to exit.
//
// Blobs are content-addressed and a complete blob is never uploaded twice, so the two sides
// cannot send the very same bytes to one server: each round makes two files of the same size
// the same way (the sample JPEG's header, random bytes standing for the image data, EOI), one
// for each side. Rounds alternate which side goes first. Reported: MiB/s of each (median over
// rounds), the ratio device/curl against the target 0.9, and the server's CPU per upload.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "daemon_harness.hpp"
#include "fieldlog/digest.hpp"
#include "sync_harness.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace bench = fieldlog::bench;
using namespace std::chrono_literals;

const std::string device_id = "handheld-01";  // the shipped config's
constexpr double target_ratio = 0.9;
constexpr std::int64_t shipped_chunk_bytes = 1048576;

struct Options {
    double mib = 20;
    int rounds = 5;
    std::int64_t chunk_bytes = shipped_chunk_bytes;
    std::string curl = "curl";
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--mib" && i + 1 < argc) {
            o.mib = std::strtod(argv[++i], nullptr);
        } else if (arg == "--rounds" && i + 1 < argc) {
            o.rounds = std::atoi(argv[++i]);
        } else if (arg == "--chunk-bytes" && i + 1 < argc) {
            o.chunk_bytes = std::atoll(argv[++i]);
        } else if (arg == "--curl" && i + 1 < argc) {
            o.curl = argv[++i];
        } else {
            std::cerr << "usage: bench_photo_upload [--mib M (default 20)] [--rounds R (default "
                         "5)] [--chunk-bytes B (default the shipped 1048576)] [--curl PATH]\n";
            std::exit(2);
        }
    }
    // The device keeps photos up to store.max_photo_bytes (32 MiB shipped); chunks are 4 KiB to
    // 4 MiB on both ends.
    if (o.mib < 1 || o.mib > 30 || o.rounds < 1 || o.rounds > 20 || o.chunk_bytes < 4096 ||
        o.chunk_bytes > 4194304) {
        std::cerr << "bench_photo_upload: --mib in [1, 30], --rounds in [1, 20], --chunk-bytes in "
                     "[4096, 4194304]\n";
        std::exit(2);
    }
    return o;
}

std::string read_binary(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void write_binary(const fs::path& path, std::string_view bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

// A JPEG of size bytes: the sample's segments and scan, random bytes, then EOI. The device
// scans a JPEG's segments but does not decode the image data, so this is a valid photo to it.
std::string make_photo(const std::string& sample, std::size_t size, std::uint64_t seed) {
    std::string header = sample.substr(0, sample.size() - 2);  // without FF D9
    std::string out = header;
    out.resize(size - 2);
    std::mt19937_64 random(seed);
    for (std::size_t i = header.size(); i < out.size(); i += 8) {
        std::uint64_t word = random();
        std::memcpy(out.data() + i, &word, std::min<std::size_t>(8, out.size() - i));
    }
    out.push_back(static_cast<char>(0xFF));
    out.push_back(static_cast<char>(0xD9));
    return out;
}

struct Upload {
    double seconds = 0;
    double in_requests = 0;  // curl: the sum of its requests' own times (time_total)
    int connects = 0;        // curl: new connections made
    double server_cpu = 0;
    double client_cpu = 0;  // fieldlogd's, or the curl process's
    double mib_per_s(std::size_t bytes) const {
        return seconds > 0 ? static_cast<double>(bytes) / (1024.0 * 1024.0) / seconds : 0;
    }
};

double children_cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_CHILDREN, &usage);
    auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Runs curl with args, its stdout into a pipe; returns (stdout, wait status).
std::pair<std::string, int> run_curl(const std::string& curl, std::vector<std::string> args) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        ::dup2(out[1], STDOUT_FILENO);
        std::vector<char*> argv;
        std::string exe = curl;
        argv.push_back(exe.data());
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execvp(exe.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(out[1]);
    std::string text;
    char buffer[4096];
    for (;;) {
        ssize_t n = ::read(out[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return {text, status};
}

struct Setup {
    const Options* options = nullptr;
    bench::ServerProcess* server = nullptr;
    bench::DaemonProcess* daemon = nullptr;
    fs::path socket;
    fs::path dir;
    std::string token;
    std::size_t size = 0;
};

Upload device_upload(const Setup& s, const fs::path& photo) {
    {
        bench::ControlClient client(s.socket, 120s);
        auto added = client.call("photo.add", {{"path", photo.string()}}).as_object();
        if (added.at("duplicate").as_bool()) throw std::runtime_error("photo.add: a duplicate");
    }
    Upload u;
    const double server0 = bench::cpu_seconds(s.server->pid());
    const double daemon0 = bench::cpu_seconds(s.daemon->pid());
    auto t0 = std::chrono::steady_clock::now();
    {
        bench::ControlClient client(s.socket, 600s);
        auto result = client.call("sync", {{"wait", true}}).as_object();
        if (!result.at("drained").as_bool()) {
            throw std::runtime_error("sync did not drain: " + json::serialize(result));
        }
    }
    u.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    u.server_cpu = bench::cpu_seconds(s.server->pid()) - server0;
    u.client_cpu = bench::cpu_seconds(s.daemon->pid()) - daemon0;
    return u;
}

Upload curl_upload(const Setup& s, const fs::path& photo, const std::string& sha) {
    const std::string bytes = read_binary(photo);
    const fs::path chunks = s.dir / ("chunks-" + sha.substr(0, 12));
    fs::create_directories(chunks);
    const auto chunk = static_cast<std::size_t>(s.options->chunk_bytes);
    std::vector<std::string> args;
    const std::string url = s.server->url() + "/v1/devices/" + device_id + "/blobs/" + sha;
    std::size_t count = 0;
    for (std::size_t offset = 0; offset < bytes.size(); offset += chunk, ++count) {
        fs::path file = chunks / ("chunk-" + std::to_string(count));
        write_binary(file, std::string_view(bytes).substr(offset, chunk));
        if (count > 0) args.emplace_back("--next");
        for (std::string a : {std::string("-sS"),
                              std::string("-o"),
                              std::string("/dev/null"),
                              std::string("-w"),
                              std::string("%{http_code} %{time_total} %{num_connects}\\n"),
                              std::string("-X"),
                              std::string("PATCH"),
                              std::string("-H"),
                              "Authorization: Bearer " + s.token,
                              std::string("-H"),
                              std::string("Content-Type: application/offset+octet-stream"),
                              std::string("-H"),
                              "Upload-Offset: " + std::to_string(offset),
                              std::string("-H"),
                              "Upload-Length: " + std::to_string(bytes.size()),
                              std::string("-H"),
                              std::string("Expect:"),
                              std::string("--data-binary"),
                              "@" + file.string(),
                              url}) {
            args.push_back(std::move(a));
        }
    }
    Upload u;
    const double server0 = bench::cpu_seconds(s.server->pid());
    const double children0 = children_cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    auto [codes, status] = run_curl(s.options->curl, args);
    u.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    u.server_cpu = bench::cpu_seconds(s.server->pid()) - server0;
    u.client_cpu = children_cpu_seconds() - children0;
    if (status != 0) {
        throw std::runtime_error("curl failed (wait status " + std::to_string(status) +
                                 "): " + codes);
    }
    // Every chunk but the last 204, the last 201 (complete, SHA-256 verified by the server).
    std::istringstream lines(codes);
    std::vector<std::string> got;
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        std::string code;
        double seconds = 0;
        int connects = 0;
        fields >> code >> seconds >> connects;
        got.push_back(code);
        u.in_requests += seconds;
        u.connects += connects;
    }
    if (got.size() != count || got.back() != "201" ||
        std::count(got.begin(), got.end(), "204") != static_cast<std::ptrdiff_t>(count - 1)) {
        throw std::runtime_error("curl's PATCH replies were not 204... then 201: " + codes);
    }
    fs::remove_all(chunks);
    return u;
}

std::string sha256_hex(const std::string& bytes) {
    return fieldlog::to_hex(fieldlog::sha256(bytes));
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

int run(const Options& o) {
    bench::TempDir dir("fieldlog-bench-photo");
    const auto size = static_cast<std::size_t>(o.mib * 1024 * 1024);
    const std::size_t chunks = (size + static_cast<std::size_t>(o.chunk_bytes) - 1) /
                               static_cast<std::size_t>(o.chunk_bytes);
    std::printf("bench_photo_upload\n");
    std::printf("  machine:  %s\n", bench::describe_machine().c_str());
    std::printf("  temp dir: %s on %s\n", dir.path().c_str(),
                bench::describe_filesystem(dir.path()).c_str());
    std::printf("  disk:     %.0f fdatasync/s (4 KiB write + fdatasync, 1 s)\n",
                bench::fdatasync_rate(dir.path(), 1s));
    std::printf("  server:   %s (127.0.0.1:0, no TLS)\n", FIELDLOG_SERVER_PATH);
    std::printf(
        "  device:   %s, sync.chunk_bytes = %lld, sync.batch_max_age_ms = 3600000 (no "
        "upload before the timed sync)\n",
        FIELDLOGD_PATH, static_cast<long long>(o.chunk_bytes));
    std::printf(
        "  photo:    %zu bytes (%.1f MiB) in %zu chunks; %d rounds, alternating which "
        "side goes first\n",
        size, static_cast<double>(size) / (1024.0 * 1024.0), chunks, o.rounds);
    {
        auto [version, status] = run_curl(o.curl, {"--version"});
        std::printf("  curl:     %s\n", version.substr(0, version.find('\n')).c_str());
        if (status != 0) throw std::runtime_error("cannot run " + o.curl);
    }
    std::fflush(stdout);

    std::string admin_token;
    auto server_config = bench::write_server_config(FIELDLOG_SOURCE_DIR, dir.path(), admin_token);
    bench::ServerProcess server(FIELDLOG_SERVER_PATH, server_config, dir.path(),
                                dir / "server.log");
    bench::AdminClient admin(server.url(), admin_token);
    const std::string token = admin.enrol(device_id);
    const auto token_file = dir / "device.token";
    bench::write_secret_file(token_file, token + "\n");
    auto config = bench::write_daemon_sync_config(
        FIELDLOG_SOURCE_DIR, dir.path(), server.url(), token_file,
        {{"chunk_bytes", std::to_string(o.chunk_bytes)}, {"batch_max_age_ms", "3600000"}});
    const auto socket = dir / "control.sock";
    bench::DaemonProcess daemon(FIELDLOGD_PATH, config, socket, dir / "fieldlogd.log");
    {
        bench::ControlClient client(socket);
        client.call("inspection.start", {{"site_id", "wwtp-east"},
                                         {"kind", "hazardous_waste_store"},
                                         {"inspectors", json::array{"bench"}}});
    }

    const std::string sample = read_binary(fs::path(FIELDLOG_SOURCE_DIR) / "docs" / "samples" /
                                           "hazardous-waste-drums.jpg");
    fs::create_directories(dir / "photos");
    Setup s{&o, &server, &daemon, socket, dir.path(), token, size};
    std::vector<double> device_rates, curl_rates, device_server_cpu, curl_server_cpu,
        device_client_cpu, curl_client_cpu;
    for (int round = 0; round < o.rounds; ++round) {
        std::string device_bytes =
            make_photo(sample, size, 2 * static_cast<std::uint64_t>(round) + 1);
        std::string curl_bytes =
            make_photo(sample, size, 2 * static_cast<std::uint64_t>(round) + 2);
        fs::path device_file = dir / "photos" / ("device-" + std::to_string(round) + ".jpg");
        fs::path curl_file = dir / "photos" / ("curl-" + std::to_string(round) + ".jpg");
        write_binary(device_file, device_bytes);
        write_binary(curl_file, curl_bytes);
        const std::string curl_sha = sha256_hex(curl_bytes);
        const std::string device_sha = sha256_hex(device_bytes);
        Upload d, c;
        if (round % 2 == 0) {
            d = device_upload(s, device_file);
            c = curl_upload(s, curl_file, curl_sha);
        } else {
            c = curl_upload(s, curl_file, curl_sha);
            d = device_upload(s, device_file);
        }
        // Both blobs are complete on the server, under their names.
        for (const std::string& sha : {device_sha, curl_sha}) {
            fs::path held = dir / "server-data" / "blobs" / sha.substr(0, 2) / sha;
            std::error_code ec;
            if (fs::file_size(held, ec) != size || ec) {
                throw std::runtime_error("the server does not hold blob " + sha + " complete");
            }
        }
        device_rates.push_back(d.mib_per_s(size));
        curl_rates.push_back(c.mib_per_s(size));
        device_server_cpu.push_back(d.server_cpu);
        curl_server_cpu.push_back(c.server_cpu);
        device_client_cpu.push_back(d.client_cpu);
        curl_client_cpu.push_back(c.client_cpu);
        std::printf(
            "  round %d (%s first): device %.3f s = %.1f MiB/s (server CPU %.3f s, "
            "fieldlogd %.3f s); curl %.3f s = %.1f MiB/s (server CPU %.3f s, curl %.3f "
            "s; its requests %.3f s, %d connection(s))\n",
            round + 1, round % 2 == 0 ? "device" : "curl", d.seconds, d.mib_per_s(size),
            d.server_cpu, d.client_cpu, c.seconds, c.mib_per_s(size), c.server_cpu, c.client_cpu,
            c.in_requests, c.connects);
        std::fflush(stdout);
        std::error_code ec;
        fs::remove(curl_file, ec);
    }
    json::object row = admin.device(device_id);
    json::object after;
    {
        bench::ControlClient client(socket);
        after = client.call("status").as_object();
    }
    if (row.at("acked_seq").to_number<std::int64_t>() !=
        after.at("outbox").at("head_seq").to_number<std::int64_t>()) {
        throw std::runtime_error("the server did not acknowledge the device's whole chain");
    }
    if (int st = daemon.stop(); st != 0) {
        throw std::runtime_error("fieldlogd did not stop cleanly (" + std::to_string(st) + ")");
    }
    if (int st = server.stop(); st != 0) {
        throw std::runtime_error("fieldlog-server did not stop cleanly (" + std::to_string(st) +
                                 ")");
    }

    const double device_median = median(device_rates);
    const double curl_median = median(curl_rates);
    const double ratio = curl_median > 0 ? device_median / curl_median : 0;
    std::printf("\nbench_photo_upload: median of %d rounds, %.1f MiB, %lld-byte chunks\n", o.rounds,
                static_cast<double>(size) / (1024.0 * 1024.0),
                static_cast<long long>(o.chunk_bytes));
    std::printf("%-46s %10s %14s %14s\n", "case", "MiB/s", "server CPU s", "client CPU s");
    std::printf("%-46s %10.1f %14.3f %14.3f\n", "device (fieldlogd sync: HEAD, PATCHes, batch)",
                device_median, median(device_server_cpu), median(device_client_cpu));
    std::printf("%-46s %10.1f %14.3f %14.3f\n", "curl (one process, PATCHes, keep-alive)",
                curl_median, median(curl_server_cpu), median(curl_client_cpu));
    std::printf("%-46s %9.2fx (target >= %.1fx) %s\n", "device / curl", ratio, target_ratio,
                bench::verdict(ratio, target_ratio).c_str());
    std::printf(
        "every round: both blobs complete on the server (SHA-256 checked there), the "
        "device's chain acknowledged; both processes exited 0\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);
    ::alarm(static_cast<unsigned>(120 + 60 * o.rounds));
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::cerr << "bench_photo_upload: " << e.what() << "\n";
        return 1;
    }
}
