#include "sync_harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "daemon_harness.hpp"
#include "fieldlog/server/http_client.hpp"

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

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

}  // namespace

void write_secret_file(const fs::path& path, const std::string& text) {
    fs::path temp = path;
    temp += ".new";
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw std::runtime_error("cannot create " + temp.string() + ": " + std::strerror(errno));
    }
    ::fchmod(fd, 0600);
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ok = ::fsync(fd) == 0 && ok;
    ::close(fd);
    if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
        throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
    }
}

fs::path write_server_config(const fs::path& source_dir, const fs::path& dir,
                             std::string& admin_token) {
    const fs::path shipped = source_dir / "sync" / "server" / "fieldlog-server.toml";
    std::ifstream in(shipped);
    if (!in) {
        throw std::runtime_error("cannot read " + shipped.string());
    }
    const std::map<std::string, std::string> replacements = {
        {"listen", quoted("127.0.0.1:0")},
        {"admin_token_file", quoted((dir / "admin.token").string())},
        {"data_dir", quoted((dir / "server-data").string())},
    };
    std::map<std::string, bool> replaced;
    std::ostringstream out;
    bool in_tls = false;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] == '[') {
            in_tls = line == "[tls]";
        }
        if (in_tls) {
            continue;  // no TLS: plain HTTP on loopback
        }
        for (const auto& [key, value] : replacements) {
            if (line.rfind(key + " =", 0) == 0) {
                line = key + " = " + value;
                replaced[key] = true;
            }
        }
        out << line << "\n";
    }
    for (const auto& [key, value] : replacements) {
        if (!replaced[key]) {
            throw std::runtime_error(shipped.string() + " has no '" + key + "' key");
        }
    }
    std::random_device random;
    std::ostringstream token;
    token << "bench-admin-" << std::hex << random() << random() << random();
    admin_token = token.str();
    write_secret_file(dir / "admin.token", admin_token + "\n");
    fs::path config = dir / "fieldlog-server.toml";
    std::ofstream(config) << out.str();
    return config;
}

fs::path write_daemon_sync_config(const fs::path& source_dir, const fs::path& dir,
                                  const std::string& url, const fs::path& token_file,
                                  const std::map<std::string, std::string>& overrides) {
    fs::path config = write_daemon_config(source_dir, dir);
    std::map<std::string, std::string> values = overrides;
    values["url"] = quoted(url);
    values["token_file"] = quoted(token_file.string());
    values["allow_plain_http"] = "true";
    std::map<std::string, bool> replaced;
    std::istringstream in(read_text(config));
    std::ostringstream out;
    bool in_sync = false;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] == '[') {
            in_sync = line == "[sync]";
        }
        if (in_sync) {
            // "# url = ..." and "# token_file = ..." are commented out in the shipped file.
            std::string bare = line.rfind("# ", 0) == 0 ? line.substr(2) : line;
            for (const auto& [key, value] : values) {
                if (bare.rfind(key + " =", 0) == 0) {
                    line = key + " = " + value;
                    replaced[key] = true;
                }
            }
        }
        out << line << "\n";
    }
    for (const auto& [key, value] : values) {
        if (!replaced[key]) {
            throw std::runtime_error("the shipped fieldlogd.toml has no [sync] key '" + key + "'");
        }
    }
    std::ofstream(config) << out.str();
    return config;
}

ServerProcess::ServerProcess(const fs::path& executable, const fs::path& config,
                             const fs::path& dir, const fs::path& log)
    : log_(log) {
    const fs::path port_file = dir / "server.port";
    std::error_code ec;
    fs::remove(port_file, ec);
    int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        throw std::runtime_error("cannot create " + log.string() + ": " + std::strerror(errno));
    }
    pid_ = ::fork();
    if (pid_ < 0) {
        ::close(log_fd);
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid_ == 0) {
        // The server must not outlive a benchmark that dies.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        std::string exe = executable.string();
        std::string config_flag = "--config";
        std::string config_text = config.string();
        std::string port_flag = "--port-file";
        std::string port_text = port_file.string();
        char* argv[] = {exe.data(),       config_flag.data(), config_text.data(),
                        port_flag.data(), port_text.data(),   nullptr};
        ::execv(exe.c_str(), argv);
        ::_exit(127);
    }
    ::close(log_fd);
    auto deadline = std::chrono::steady_clock::now() + 15s;
    for (;;) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("fieldlog-server exited at start; its log:\n" +
                                     read_text(log_));
        }
        std::string text = read_text(port_file);
        if (!text.empty() && text.back() == '\n') {
            int port = std::stoi(text);
            if (port <= 0 || port > 65535) {
                throw std::runtime_error("fieldlog-server wrote port " + text);
            }
            port_ = static_cast<std::uint16_t>(port);
            return;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            stop();
            throw std::runtime_error(
                "fieldlog-server did not write its port within 15 s; its "
                "log:\n" +
                read_text(log_));
        }
        std::this_thread::sleep_for(10ms);
    }
}

ServerProcess::~ServerProcess() { stop(); }

int ServerProcess::stop() {
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

AdminClient::AdminClient(const std::string& url, const std::string& admin_token)
    : token_(admin_token) {
    auto client = server::HttpClient::create(url);
    if (!client) {
        throw std::runtime_error(client.error().message());
    }
    client_ = std::make_unique<server::HttpClient>(std::move(*client));
}

AdminClient::~AdminClient() = default;

std::string AdminClient::enrol(const std::string& device_id) {
    server::HttpHeaders headers{{"Authorization", "Bearer " + token_},
                                {"Content-Type", "application/json"}};
    auto reply = client_->request("POST", "/v1/admin/devices", headers,
                                  json::serialize(json::object{{"device_id", device_id}}));
    if (!reply || reply->status != 201) {
        throw std::runtime_error("enrolling " + device_id +
                                 " failed: " + (reply ? reply->body : reply.error().message()));
    }
    return std::string(json::parse(reply->body).at("token").as_string());
}

json::object AdminClient::get(const std::string& target) {
    server::HttpHeaders headers{{"Authorization", "Bearer " + token_}};
    auto reply = client_->request("GET", target, headers);
    if (!reply || reply->status != 200) {
        throw std::runtime_error("GET " + target +
                                 " failed: " + (reply ? reply->body : reply.error().message()));
    }
    return json::parse(reply->body).as_object();
}

json::object AdminClient::device(const std::string& device_id) {
    json::object list = get("/v1/admin/devices");
    for (const auto& d : list.at("devices").as_array()) {
        if (d.at("device_id").as_string() == device_id) {
            return d.as_object();
        }
    }
    throw std::runtime_error("the server lists no device " + device_id);
}

}  // namespace fieldlog::bench
