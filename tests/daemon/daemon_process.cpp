#include "daemon_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "target_command.hpp"
#include "temp_dir.hpp"

extern char** environ;

namespace fieldlog::testing {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

// TOML basic strings: the temp paths here hold no quotes or backslashes, but say so loudly if
// one ever does rather than write a config that means something else.
std::string quoted(const std::filesystem::path& path) {
    std::string text = path.string();
    if (text.find_first_of("\"\\\n") != std::string::npos) {
        throw std::invalid_argument("path not representable in the test config: " + text);
    }
    return "\"" + text + "\"";
}

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() <= 0 ? 0 : static_cast<int>(left.count());
}

std::string read_text(const std::filesystem::path& path, std::uintmax_t offset) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return {};
    }
    in.seekg(static_cast<std::streamoff>(offset));
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// posix_spawnp with stdin from /dev/null and stdout and stderr appended to output; returns 0
// or the errno of the failure.
int spawn_process(const std::vector<std::string>& argv, const std::filesystem::path& output,
                  pid_t& pid) {
    if (argv.empty()) {
        return EINVAL;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    // The test runner's signal state is not the child's: start from defaults, nothing blocked.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t all;
    sigset_t none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& arg : argv) {
        args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return rc;
}

}  // namespace

DaemonConfig default_daemon_config(const std::filesystem::path& dir) {
    DaemonConfig config;
    config.data_dir = dir / "data";
    config.socket = dir / "ctl.sock";
    config.sites_file = source_dir() / "config" / "sites.toml";
    config.standards_dir = source_dir() / "config" / "standards";
    return config;
}

std::string daemon_config_toml(const DaemonConfig& config) {
    std::ostringstream out;
    out << "[device]\n"
        << "id = \"" << config.device_id << "\"\n"
        << "data_dir = " << quoted(config.data_dir) << "\n"
        << "utc_offset = \"+08:00\"\n"
        << "\n[control]\n"
        << "socket = " << quoted(config.socket) << "\n"
        << "max_request_bytes = " << config.max_request_bytes << "\n"
        << "max_clients = " << config.max_clients << "\n"
        << "\n[store]\n"
        << "synchronous = \"full\"\n"
        << "\n[reference]\n"
        << "sites = " << quoted(config.sites_file) << "\n"
        << "standards_dir = " << quoted(config.standards_dir) << "\n";
    if (const auto& sync = config.sync) {
        if (sync->url.find_first_of("\"\\\n") != std::string::npos) {
            throw std::invalid_argument("url not representable in the test config: " + sync->url);
        }
        out << "\n[sync]\n"
            << "url = \"" << sync->url << "\"\n"
            << "token_file = " << quoted(sync->token_file) << "\n"
            << "allow_plain_http = " << (sync->allow_plain_http ? "true" : "false") << "\n"
            << "batch_max_entries = " << sync->batch_max_entries << "\n"
            << "batch_max_bytes = " << sync->batch_max_bytes << "\n"
            << "batch_max_age_ms = " << sync->batch_max_age_ms << "\n"
            << "chunk_bytes = " << sync->chunk_bytes << "\n"
            << "retry_initial_ms = " << sync->retry_initial_ms << "\n"
            << "retry_max_ms = " << sync->retry_max_ms << "\n"
            << "probe_interval_ms = " << sync->probe_interval_ms << "\n"
            << "request_timeout_ms = " << sync->request_timeout_ms << "\n";
    }
    if (!config.extra_toml.empty()) {
        out << "\n" << config.extra_toml;
    }
    return out.str();
}

bool ExitStatus::exited() const { return WIFEXITED(raw); }
int ExitStatus::code() const { return WEXITSTATUS(raw); }
bool ExitStatus::signaled() const { return WIFSIGNALED(raw); }
int ExitStatus::signal() const { return WTERMSIG(raw); }

std::string ExitStatus::describe() const {
    if (exited()) {
        return "exit code " + std::to_string(code());
    }
    if (signaled()) {
        return "killed by signal " + std::to_string(signal()) + " (" + strsignal(signal()) + ")";
    }
    return "wait status " + std::to_string(raw);
}

// ---- ControlClient ----

std::optional<ControlClient> ControlClient::connect(const std::filesystem::path& socket) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string path = socket.string();
    if (path.size() >= sizeof(address.sun_path)) {
        throw std::invalid_argument("socket path too long for sun_path: " + path);
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    // CLOEXEC: a connection must not leak into a daemon spawned while it is open.
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return std::nullopt;
    }
    ControlClient client(fd);
    // Bounds a send to a daemon that stopped reading (SIGSTOP, a stuck loop).
    timeval send_timeout{20, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        return std::nullopt;
    }
    return client;
}

ControlClient::ControlClient(ControlClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), pending_(std::move(other.pending_)) {}

ControlClient& ControlClient::operator=(ControlClient&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = std::exchange(other.fd_, -1);
        pending_ = std::move(other.pending_);
    }
    return *this;
}

ControlClient::~ControlClient() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

bool ControlClient::send(std::string_view bytes) {
    while (!bytes.empty()) {
        // MSG_NOSIGNAL: a daemon killed mid-request must not take the test down with SIGPIPE.
        ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::optional<std::string> ControlClient::read_line(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (auto end = pending_.find('\n'); end != std::string::npos) {
            std::string line = pending_.substr(0, end);
            pending_.erase(0, end + 1);
            return line;
        }
        pollfd p{fd_, POLLIN, 0};
        int ready = ::poll(&p, 1, remaining_ms(deadline));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return std::nullopt;  // timeout or poll error
        }
        char chunk[4096];
        ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return std::nullopt;  // closed or reset
        }
        pending_.append(chunk, static_cast<std::size_t>(n));
    }
}

std::optional<json::value> ControlClient::request(const json::value& request,
                                                  std::chrono::milliseconds timeout) {
    if (!send(json::serialize(request) + "\n")) {
        return std::nullopt;
    }
    auto line = read_line(timeout);
    if (!line) {
        return std::nullopt;
    }
    boost::system::error_code ec;
    json::value reply = json::parse(*line, ec);
    if (ec) {
        return std::nullopt;
    }
    return reply;
}

bool ControlClient::wait_closed(std::chrono::milliseconds timeout) {
    if (!pending_.empty()) {
        return false;
    }
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        pollfd p{fd_, POLLIN, 0};
        int ready = ::poll(&p, 1, remaining_ms(deadline));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return false;
        }
        char byte = 0;
        ssize_t n = ::recv(fd_, &byte, 1, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE));
    }
}

// ---- DaemonProcess ----

DaemonProcess::DaemonProcess(const std::filesystem::path& dir, DaemonConfig config)
    : config_(std::move(config)),
      config_path_(dir / "fieldlogd.toml"),
      output_path_(dir / "fieldlogd.out") {
    write_config_text(daemon_config_toml(config_));
}

DaemonProcess::~DaemonProcess() {
    if (running()) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

std::filesystem::path DaemonProcess::executable() { return FIELDLOGD_PATH; }

void DaemonProcess::write_config_text(const std::string& toml) const {
    std::ofstream out(config_path_, std::ios::binary | std::ios::trunc);
    out << toml;
    out.close();
    if (!out) {
        throw std::runtime_error("cannot write " + config_path_.string());
    }
}

::testing::AssertionResult DaemonProcess::start() {
    return start_command({executable().string(), "--config", config_path_.string()});
}

::testing::AssertionResult DaemonProcess::start_command(const std::vector<std::string>& argv) {
    auto spawned = spawn(argv);
    if (!spawned) {
        return spawned;
    }
    return wait_ready();
}

::testing::AssertionResult DaemonProcess::spawn(const std::vector<std::string>& argv) {
    if (running()) {
        return ::testing::AssertionFailure() << "the daemon is already running as " << pid_;
    }
    std::error_code ec;
    output_offset_ = std::filesystem::exists(output_path_, ec)
                         ? std::filesystem::file_size(output_path_, ec)
                         : 0;
    // fieldlogd runs through the emulator of a cross build; a wrapper given to start_command
    // puts target_command() into the exec it ends with itself.
    const std::vector<std::string> command =
        argv.at(0) == executable().string() ? target_command(argv) : argv;
    pid_t pid = -1;
    if (int rc = spawn_process(command, output_path_, pid); rc != 0) {
        return ::testing::AssertionFailure()
               << "cannot spawn " << argv.at(0) << ": " << strerror(rc);
    }
    pid_ = pid;
    exit_status_.reset();
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult DaemonProcess::wait_ready(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (reap(false)) {
            return ::testing::AssertionFailure()
                   << "fieldlogd exited before serving " << config_.socket << " ("
                   << exit_status_->describe() << "); its output:\n"
                   << output();
        }
        if (ControlClient::connect(config_.socket)) {
            return ::testing::AssertionSuccess();
        }
        if (Clock::now() >= deadline) {
            return ::testing::AssertionFailure()
                   << "fieldlogd did not accept on " << config_.socket << " within "
                   << timeout.count() << " ms; its output:\n"
                   << output();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

std::optional<json::value> DaemonProcess::request(const json::value& request) const {
    auto client = connect();
    if (!client) {
        return std::nullopt;
    }
    return client->request(request);
}

json::object DaemonProcess::ok(std::string_view op, json::object args) const {
    json::object request{{"op", op}, {"args", std::move(args)}};
    auto reply = this->request(request);
    if (!reply) {
        ADD_FAILURE() << "no reply to " << json::serialize(request) << "; daemon output:\n"
                      << output();
        return {};
    }
    const json::object* obj = reply->if_object();
    const json::value* ok = obj != nullptr ? obj->if_contains("ok") : nullptr;
    const json::value* result = obj != nullptr ? obj->if_contains("result") : nullptr;
    if (ok == nullptr || !ok->is_bool() || !ok->get_bool() || result == nullptr ||
        !result->is_object()) {
        ADD_FAILURE() << json::serialize(request) << " failed: " << json::serialize(*reply);
        return {};
    }
    return result->get_object();
}

bool DaemonProcess::kill(int signal) const { return running() && ::kill(pid_, signal) == 0; }

bool DaemonProcess::reap(bool block) {
    if (pid_ <= 0 || exit_status_) {
        return exit_status_.has_value();
    }
    int status = 0;
    pid_t done = 0;
    do {
        done = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    } while (done < 0 && errno == EINTR);
    if (done == pid_) {
        exit_status_ = ExitStatus{status};
        return true;
    }
    return false;
}

std::optional<ExitStatus> DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!reap(false)) {
        if (pid_ <= 0 || Clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return exit_status_;
}

std::string DaemonProcess::output() const { return read_text(output_path_, output_offset_); }

std::optional<ExitStatus> run_command(const std::vector<std::string>& argv,
                                      const std::filesystem::path& output_file,
                                      std::chrono::milliseconds timeout) {
    pid_t pid = -1;
    if (spawn_process(argv, output_file, pid) != 0) {
        return std::nullopt;
    }
    const auto deadline = Clock::now() + timeout;
    int status = 0;
    for (;;) {
        pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            return ExitStatus{status};
        }
        if ((done < 0 && errno != EINTR) || Clock::now() >= deadline) {
            ::kill(pid, SIGKILL);
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

std::string error_code(const json::value& reply) {
    const json::object* obj = reply.if_object();
    if (obj == nullptr) return {};
    const json::value* error = obj->if_contains("error");
    if (error == nullptr || !error->is_object()) return {};
    const json::value* code = error->get_object().if_contains("code");
    return code != nullptr && code->is_string() ? std::string(code->get_string()) : std::string();
}

std::string error_message(const json::value& reply) {
    const json::object* obj = reply.if_object();
    if (obj == nullptr) return {};
    const json::value* error = obj->if_contains("error");
    if (error == nullptr || !error->is_object()) return {};
    const json::value* message = error->get_object().if_contains("message");
    return message != nullptr && message->is_string() ? std::string(message->get_string())
                                                      : std::string();
}

namespace field_kit {

KitDaemon::KitDaemon(std::string extra_toml) : config_(default_daemon_config(dir_.path())) {
    config_.extra_toml = std::move(extra_toml);
}

::testing::AssertionResult KitDaemon::start() {
    daemon_.emplace(dir_.path(), config_);
    return daemon_->start();
}

bool logged(const DaemonProcess& daemon, std::string_view event, std::string_view text) {
    auto logs = daemon.ok("logs", {{"limit", 100}});
    if (logs.empty()) return false;
    for (const auto& entry : logs.at("entries").as_array()) {
        if (entry.at("event").as_string() == event &&
            std::string_view(entry.at("message").as_string()).find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

json::object start_inspection(const DaemonProcess& daemon) {
    return daemon.ok("inspection.start", {{"site_id", "wwtp-east"},
                                          {"kind", "wastewater_discharge"},
                                          {"inspectors", json::array{"Li Wei"}}});
}

json::object status_of(const DaemonProcess& daemon, std::string_view name) {
    auto status = daemon.ok("status");
    if (status.empty()) return {};
    const json::value* part = status.if_contains(name);
    if (part == nullptr || !part->is_object()) {
        ADD_FAILURE() << "status has no object " << name << ": " << json::serialize(status);
        return {};
    }
    return part->get_object();
}

void write_attribute(const std::filesystem::path& file, const std::string& value) {
    std::filesystem::create_directories(file.parent_path());
    auto temp = file.parent_path() / ("." + file.filename().string());
    std::ofstream(temp) << value << "\n";
    std::filesystem::rename(temp, file);
}

std::string nmea(std::string_view body) {
    unsigned sum = 0;
    for (char c : body) sum ^= static_cast<unsigned char>(c);
    char tail[8];
    std::snprintf(tail, sizeof tail, "*%02X\r\n", sum);
    return "$" + std::string(body) + tail;
}

std::string fix_sentences() {
    return nmea("GNRMC,083559.00,A,3035.12340,N,11418.56780,E,0.0,,251126,,,A,V") +
           nmea("GNGGA,083559.00,3035.12340,N,11418.56780,E,1,12,0.78,23.4,M,-10.2,M,,");
}

std::int64_t fix_time_ms() {
    using namespace std::chrono;
    auto at = sys_days{year{2026} / November / 25} + hours{8} + minutes{35} + seconds{59};
    return duration_cast<milliseconds>(at.time_since_epoch()).count();
}

void expect_position(const json::object& record) {
    ASSERT_TRUE(record.at("gnss_time_ms").is_int64()) << record;
    EXPECT_EQ(record.at("gnss_time_ms").as_int64(), fix_time_ms()) << record;
    EXPECT_NEAR(record.at("lat").to_number<double>(), fix_lat, 1e-6) << record;
    EXPECT_NEAR(record.at("lon").to_number<double>(), fix_lon, 1e-6) << record;
}

void expect_no_position(const json::object& record) {
    EXPECT_TRUE(record.at("gnss_time_ms").is_null()) << record;
    EXPECT_TRUE(record.at("lat").is_null()) << record;
    EXPECT_TRUE(record.at("lon").is_null()) << record;
}

}  // namespace field_kit

}  // namespace fieldlog::testing
