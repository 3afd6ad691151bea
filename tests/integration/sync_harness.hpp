// End-to-end sync: fieldlog-server as a child process (config, admin token and data in a temp
// dir, port 0 reported through --port-file), devices enrolled with fieldlog-admin, real fieldlogd
// processes syncing to it, and the checks that say whether every record arrived exactly once.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon_process.hpp"
#include "fieldlog/server/http_client.hpp"

namespace fieldlog::testing {

// The [tls] table of a ServerProcess, and what the test's own clients (fieldlog-admin,
// admin()) trust and present to it.
struct ServerTls {
    std::filesystem::path certificate;
    std::filesystem::path private_key;
    std::optional<std::filesystem::path> client_ca;  // set: every client needs a certificate
    std::filesystem::path ca_file;                   // what the admin clients verify against
    std::optional<std::filesystem::path> client_cert;
    std::optional<std::filesystem::path> client_key;
};

// fieldlog-server run as a child on a config in dir; start() may be called again after kill()
// or stop(), on the same data directory.
class ServerProcess {
public:
    explicit ServerProcess(const std::filesystem::path& dir);
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    // The port to listen on at the next start; 0 (the default) takes a free one.
    void set_listen_port(std::uint16_t port);
    // limits.request_timeout_s at the next start (also how long an idle connection is kept).
    void set_request_timeout_s(int seconds);
    // Serves HTTPS from the next start; url() then says https.
    void set_tls(ServerTls tls);
    // Spawns the server and waits until it reports its port.
    ::testing::AssertionResult start(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // Sends signal; with SIGKILL also reaps the process.
    void kill(int signal);
    // SIGTERM and a bounded wait for the exit; the exit status or nullopt.
    std::optional<ExitStatus> stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    bool running() const { return pid_ > 0; }

    std::uint16_t port() const { return port_; }
    std::string url() const;
    const std::filesystem::path& data_dir() const { return data_dir_; }
    const std::string& admin_token() const { return admin_token_; }
    std::string output() const;  // what the server wrote to stderr over all its runs

    // fieldlog-admin device enrol ID --json; the device token, or "" (with a test failure).
    std::string enrol(const std::string& device_id) const;
    // fieldlog-admin with the server and admin token filled in, then args; its exit status
    // (nullopt when it did not finish in time) and what it printed in output.
    std::optional<ExitStatus> run_admin(const std::vector<std::string>& args,
                                        std::string& output) const;
    // One request with the admin token, on a fresh connection; nullopt when nobody answered.
    std::optional<server::HttpReply> admin(const std::string& method,
                                           const std::string& target) const;
    // The admin request's JSON object; an empty object (and a test failure) on any error.
    boost::json::object admin_json(const std::string& target) const;

private:
    void write_config() const;
    // fieldlog-admin with the server, admin token and TLS options filled in.
    std::vector<std::string> admin_command() const;

    std::filesystem::path dir_;
    std::filesystem::path config_path_;
    std::filesystem::path port_file_;
    std::filesystem::path token_file_;
    std::filesystem::path log_path_;
    std::filesystem::path data_dir_;
    std::string admin_token_;
    std::uint16_t listen_port_ = 0;
    int request_timeout_s_ = 30;
    std::optional<ServerTls> tls_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

// A TCP port on 127.0.0.1 bound without listening, so that connections to it are refused and no
// other socket can take it, until release().
class PortReservation {
public:
    PortReservation();
    ~PortReservation();
    PortReservation(const PortReservation&) = delete;
    PortReservation& operator=(const PortReservation&) = delete;
    std::uint16_t port() const { return port_; }
    void release();

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

// A fieldlogd that syncs to url with token: dir/device.token (mode 0600), config in dir.
std::unique_ptr<DaemonProcess> make_sync_device(const std::filesystem::path& dir,
                                                const std::string& device_id,
                                                const std::string& url, const std::string& token,
                                                SyncSettings settings = {});

// The [sync] TLS keys of a device.
struct DeviceTls {
    std::filesystem::path ca_file;
    std::optional<std::filesystem::path> client_cert;
    std::optional<std::filesystem::path> client_key;
};
// Rewrites the daemon's config file with these keys in its [sync] table (the rest as
// daemon.config() says); fieldlogd reads [sync] at its next start.
void set_device_tls(const DaemonProcess& daemon, const DeviceTls& tls);

// Runs the fieldlog CLI against the daemon's control socket (bounded); its exit status, nullopt
// when it did not finish in time, and what it printed (stdout and stderr) in output.
std::optional<ExitStatus> run_cli(const DaemonProcess& daemon, const std::vector<std::string>& args,
                                  std::string& output);

// Opens an inspection (needed for measurements and photos); its id.
std::string open_inspection(const DaemonProcess& daemon);

struct WriteResult {
    std::int64_t acknowledged = 0;
    std::int64_t failed = 0;
    std::string first_error;
    double seconds = 0;
};

// total measurement.add requests over `clients` connections, each keeping up to `window`
// requests in flight, against the open inspection; bounded by limit.
WriteResult add_measurements(const DaemonProcess& daemon, std::int64_t total, int clients,
                             int window, std::chrono::milliseconds limit);

// A real JPEG padded with APP segments to at least size bytes; seed makes it unique.
std::vector<std::uint8_t> make_padded_jpeg(std::uint32_t seed, std::size_t size);
// photo.add of the file at path; the photo's sha256 ("" with a test failure).
std::string add_photo(const DaemonProcess& daemon, const std::filesystem::path& path);

// status.sync of the daemon (empty on failure).
boost::json::object sync_status(const DaemonProcess& daemon);
std::int64_t pending_entries(const DaemonProcess& daemon);

// Polls status (never the sync operation, so backoffs run their course) until the outbox is
// empty; false when limit passes first.
bool wait_outbox_empty(const DaemonProcess& daemon, std::chrono::milliseconds limit);
// Asks the sync operation (wait: true) until the outbox is empty; false when limit passes first.
bool sync_until_drained(const DaemonProcess& daemon, std::chrono::milliseconds limit);

// One row of an evidence chain.
struct ChainRow {
    std::int64_t seq = 0;
    std::string kind;
    std::string record_id;
    std::string action;
    std::string entry_hash;  // hex
};
std::vector<ChainRow> device_chain(const DaemonProcess& daemon);
// The entries the server's database holds for device_id, in seq order.
std::vector<ChainRow> server_entries(const ServerProcess& server, const std::string& device_id);

// The whole proof that a device's chain arrived exactly once: the server's entries are the
// device's, seq for seq and hash for hash, with none missing and none twice; /v1/records holds
// each of the device's records once at its latest seq; the server's acked_seq is the device's
// head; GET /v1/devices/{id}/verify is ok over every entry; the device's outbox is empty.
::testing::AssertionResult delivered_exactly_once(const ServerProcess& server,
                                                  const DaemonProcess& daemon);

// No entry the server stores for device_id is stored twice, and the stored entries are
// contiguous from 1 and agree with chain (the device's, which may be longer).
::testing::AssertionResult server_holds_prefix(const ServerProcess& server,
                                               const std::string& device_id,
                                               const std::vector<ChainRow>& chain);

// GET /v1/blobs/{sha256} equals the file's bytes, and they hash to sha256.
::testing::AssertionResult blob_matches(const ServerProcess& server, const std::string& sha256,
                                        const std::filesystem::path& original);

// VmHWM of a process in KiB, from /proc/PID/status (0 when unreadable).
std::int64_t peak_rss_kib(pid_t pid);

}  // namespace fieldlog::testing
