// The office side of the sync benchmarks: a real fieldlog-server as a child process on
// 127.0.0.1 (a free port), its admin API, and a fieldlogd config whose [sync] section points at
// it over plain HTTP.
#pragma once

#include <sys/types.h>

#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

namespace fieldlog::server {
class HttpClient;
}

namespace fieldlog::bench {

// Writes dir/fieldlog-server.toml from the shipped sync/server/fieldlog-server.toml with every
// key kept but these: listen on 127.0.0.1 port 0, data_dir and the admin token file inside dir,
// and no [tls] section (plain HTTP on loopback). Writes the admin token (mode 0600) and returns
// the config's path; admin_token receives the token.
std::filesystem::path write_server_config(const std::filesystem::path& source_dir,
                                          const std::filesystem::path& dir,
                                          std::string& admin_token);

// Writes dir/fieldlogd.toml as write_daemon_config does, then turns sync on: url, token_file,
// allow_plain_http = true, and every [sync] key in overrides (say "chunk_bytes" -> "4194304")
// set to its value; a key the shipped file lacks is an error. Returns the config's path.
std::filesystem::path write_daemon_sync_config(const std::filesystem::path& source_dir,
                                               const std::filesystem::path& dir,
                                               const std::string& url,
                                               const std::filesystem::path& token_file,
                                               const std::map<std::string, std::string>& overrides);

// Replaces path with text, mode 0600, by an atomic rename (a token file the daemon may read at
// any moment is never seen half-written).
void write_secret_file(const std::filesystem::path& path, const std::string& text);

// fieldlog-server --config config --port-file (in dir), stderr to log; waits until the port
// file names the port it listens on.
class ServerProcess {
public:
    ServerProcess(const std::filesystem::path& executable, const std::filesystem::path& config,
                  const std::filesystem::path& dir, const std::filesystem::path& log);
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    pid_t pid() const { return pid_; }
    std::uint16_t port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    // SIGTERM, then waits (SIGKILL after 10 s); returns the wait status.
    int stop();

private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::filesystem::path log_;
};

// The admin API of a running server, with the admin token.
class AdminClient {
public:
    AdminClient(const std::string& url, const std::string& admin_token);
    ~AdminClient();
    AdminClient(const AdminClient&) = delete;
    AdminClient& operator=(const AdminClient&) = delete;

    // Enrols device_id and returns its token.
    std::string enrol(const std::string& device_id);
    // GET target; throws unless the reply is 200 with a JSON object.
    boost::json::object get(const std::string& target);
    // The device's row of GET /v1/admin/devices.
    boost::json::object device(const std::string& device_id);

private:
    std::unique_ptr<server::HttpClient> client_;
    std::string token_;
};

}  // namespace fieldlog::bench
