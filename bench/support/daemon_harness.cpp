#include "daemon_harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <latch>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fieldlog::bench {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string system_error(std::string_view what) {
    return std::string(what) + ": " + std::strerror(errno);
}

int connect_unix(const fs::path& socket_path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string& text = socket_path.native();
    if (text.size() >= sizeof address.sun_path) {
        throw std::runtime_error("socket path too long: " + text);
    }
    std::copy(text.begin(), text.end(), address.sun_path);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error(system_error("socket"));
    }
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

fs::path write_daemon_config(const fs::path& source_dir, const fs::path& dir) {
    const fs::path shipped = source_dir / "config" / "fieldlogd.toml";
    std::ifstream in(shipped);
    if (!in) {
        throw std::runtime_error("cannot read " + shipped.string());
    }
    const std::vector<std::pair<std::string, fs::path>> replacements = {
        {"data_dir", dir / "data"},
        {"socket", dir / "control.sock"},
        {"sites", source_dir / "config" / "sites.toml"},
        {"standards_dir", source_dir / "config" / "standards"},
    };
    std::vector<bool> replaced(replacements.size(), false);
    std::ostringstream out;
    for (std::string line; std::getline(in, line);) {
        for (std::size_t i = 0; i < replacements.size(); ++i) {
            const std::string& key = replacements[i].first;
            if (line.rfind(key + " =", 0) == 0) {
                line = key + " = \"" + replacements[i].second.string() + "\"";
                replaced[i] = true;
            }
        }
        out << line << "\n";
    }
    for (std::size_t i = 0; i < replacements.size(); ++i) {
        if (!replaced[i]) {
            throw std::runtime_error(shipped.string() + " has no '" + replacements[i].first +
                                     "' key to point into the temp directory");
        }
    }
    fs::path config = dir / "fieldlogd.toml";
    std::ofstream(config) << out.str();
    return config;
}

DaemonProcess::DaemonProcess(const fs::path& executable, const fs::path& config,
                             const fs::path& socket, const fs::path& log,
                             const std::vector<std::string>& extra_env)
    : log_(log) {
    int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        throw std::runtime_error(system_error("cannot create " + log.string()));
    }
    pid_ = ::fork();
    if (pid_ < 0) {
        ::close(log_fd);
        throw std::runtime_error(system_error("fork"));
    }
    if (pid_ == 0) {
        // The daemon must not outlive a benchmark that dies.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
        for (const std::string& assignment : extra_env) {
            auto eq = assignment.find('=');
            ::setenv(assignment.substr(0, eq).c_str(), assignment.substr(eq + 1).c_str(), 1);
        }
        std::string exe = executable.string();
        std::string config_text = config.string();
        std::string flag = "-c";
        char* argv[] = {exe.data(), flag.data(), config_text.data(), nullptr};
        ::execv(exe.c_str(), argv);
        ::_exit(127);
    }
    ::close(log_fd);
    auto deadline = std::chrono::steady_clock::now() + 15s;
    for (;;) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("fieldlogd exited at start; its log:\n" + read_text(log_));
        }
        int fd = connect_unix(socket);
        if (fd >= 0) {
            ::close(fd);
            return;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            stop();
            throw std::runtime_error("fieldlogd did not answer on " + socket.string() +
                                     " within 15 s; its log:\n" + read_text(log_));
        }
        std::this_thread::sleep_for(10ms);
    }
}

DaemonProcess::~DaemonProcess() { stop(); }

int DaemonProcess::stop() {
    if (pid_ < 0) {
        return 0;
    }
    ::kill(pid_, SIGTERM);
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(10ms);
    }
    pid_ = -1;
    return status;
}

ControlClient::ControlClient(const fs::path& socket, std::chrono::seconds reply_timeout)
    : fd_(connect_unix(socket)) {
    if (fd_ < 0) {
        throw std::runtime_error(system_error("cannot connect to " + socket.string()));
    }
    timeval timeout{static_cast<time_t>(reply_timeout.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
}

ControlClient::~ControlClient() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

json::value ControlClient::call(std::string_view op, const json::object& args) {
    json::object request{{"id", next_id_++}, {"op", op}};
    if (!args.empty()) {
        request["args"] = args;
    }
    std::string line = json::serialize(request);
    line.push_back('\n');
    std::size_t sent = 0;
    while (sent < line.size()) {
        ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(system_error("send"));
        }
        sent += static_cast<std::size_t>(n);
    }
    std::size_t newline;
    while ((newline = pending_.find('\n')) == std::string::npos) {
        char buffer[16384];
        ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            throw std::runtime_error(n == 0 ? std::string("fieldlogd closed the connection")
                                            : system_error("recv"));
        }
        pending_.append(buffer, static_cast<std::size_t>(n));
    }
    json::value reply = json::parse(std::string_view(pending_).substr(0, newline));
    pending_.erase(0, newline + 1);
    const json::object& obj = reply.as_object();
    if (!obj.at("ok").as_bool()) {
        throw std::runtime_error(std::string(op) + " failed: " + json::serialize(obj.at("error")));
    }
    return obj.at("result");
}

double cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The command name in parentheses may hold spaces; fields after it are plain.
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::map<std::string, std::int64_t> process_status(pid_t pid) {
    std::map<std::string, std::int64_t> out;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string key = line.substr(0, colon);
        if (key == "VmRSS" || key == "VmHWM" || key == "RssAnon" || key == "RssFile" ||
            key == "RssShmem" || key == "Threads") {
            out[key] = std::stoll(line.substr(colon + 1));
        }
    }
    return out;
}

std::vector<std::pair<std::string, std::int64_t>> resident_by_mapping(pid_t pid) {
    constexpr std::uint64_t arena_alignment = std::uint64_t{64} << 20;
    constexpr std::uint64_t thread_stack = std::uint64_t{8} << 20;
    std::map<std::string, std::int64_t> groups;
    std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
    std::string current;
    for (std::string line; std::getline(in, line);) {
        auto dash = line.find('-');
        auto space = line.find(' ');
        bool header = dash != std::string::npos && space != std::string::npos && dash < space &&
                      line.find_first_not_of("0123456789abcdef") == dash;
        if (header) {
            std::istringstream fields(line);
            std::string range, perms, offset, device, inode;
            fields >> range >> perms >> offset >> device >> inode;
            std::string name;
            std::getline(fields, name);
            name.erase(0, name.find_first_not_of(' '));
            if (name.empty()) {
                std::uint64_t start = std::stoull(range.substr(0, dash), nullptr, 16);
                std::uint64_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
                if (start % arena_alignment == 0) {
                    name = "[anon, 64 MiB-aligned: malloc arena heaps]";
                } else if (end - start == thread_stack) {
                    name = "[anon, 8 MiB: thread stacks]";
                } else {
                    name = "[anon, other]";
                }
            } else if (name.find('/') != std::string::npos) {
                name = fs::path(name).filename().string();
            }
            current = name;
        } else if (line.rfind("Rss:", 0) == 0) {
            groups[current] += std::stoll(line.substr(4));
        }
    }
    std::vector<std::pair<std::string, std::int64_t>> sorted(groups.begin(), groups.end());
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.second > b.second; });
    return sorted;
}

ClientRun run_measurement_clients(const fs::path& socket, int threads,
                                  std::chrono::duration<double> duration, std::int64_t total) {
    std::vector<std::unique_ptr<ControlClient>> clients;
    for (int i = 0; i < threads; ++i) {
        clients.push_back(std::make_unique<ControlClient>(socket));
    }
    std::atomic<std::int64_t> claimed{0};
    std::mutex mutex;
    std::vector<float> latencies;
    std::string failure;
    std::latch ready(threads + 1);
    std::chrono::steady_clock::time_point start;
    auto end_after = std::chrono::duration_cast<std::chrono::steady_clock::duration>(duration);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            std::vector<float> mine;
            ready.arrive_and_wait();
            const auto end = start + end_after;
            try {
                for (;;) {
                    auto now = std::chrono::steady_clock::now();
                    if (now >= end) break;
                    std::int64_t n = claimed.fetch_add(1);
                    if (total > 0 && n >= total) break;
                    json::object args{{"parameter", "COD"},
                                      {"value", 10 + (n + t) % 80},
                                      {"unit", "mg/L"},
                                      {"sampling_point", "outfall " + std::to_string(t + 1)}};
                    clients[static_cast<std::size_t>(t)]->call("measurement.add", args);
                    mine.push_back(std::chrono::duration<float, std::milli>(
                                       std::chrono::steady_clock::now() - now)
                                       .count());
                }
            } catch (const std::exception& e) {
                std::lock_guard lock(mutex);
                failure = e.what();
            }
            std::lock_guard lock(mutex);
            latencies.insert(latencies.end(), mine.begin(), mine.end());
        });
    }
    start = std::chrono::steady_clock::now();
    ready.arrive_and_wait();
    for (auto& w : workers) w.join();
    ClientRun run;
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!failure.empty()) {
        throw std::runtime_error("client failed: " + failure);
    }
    run.acknowledged = static_cast<std::int64_t>(latencies.size());
    if (!latencies.empty()) {
        std::sort(latencies.begin(), latencies.end());
        auto at = [&](double q) {
            auto index = static_cast<std::size_t>(q * static_cast<double>(latencies.size() - 1));
            return static_cast<double>(latencies[index]);
        };
        run.p50_ms = at(0.50);
        run.p99_ms = at(0.99);
        run.max_ms = static_cast<double>(latencies.back());
    }
    return run;
}

}  // namespace fieldlog::bench
