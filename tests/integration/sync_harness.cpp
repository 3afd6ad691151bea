#include "sync_harness.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "fieldlog/digest.hpp"
#include "fieldlog/files.hpp"
#include "fieldlog/store/database.hpp"
#include "jpeg_fixture.hpp"
#include "target_command.hpp"

extern char** environ;

namespace fieldlog::testing {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

std::string read_all(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::optional<json::object> parse_object(std::string_view text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.get_object());
}

// A path as a TOML basic string; the test's temporary paths never need escapes, so one that
// would is refused rather than written as something else.
std::string toml_path(const std::filesystem::path& path) {
    const std::string text = path.string();
    if (text.find_first_of("\"\\\n") != std::string::npos) {
        throw std::invalid_argument("path not representable in a test config: " + text);
    }
    return "\"" + text + "\"";
}

std::int64_t int_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_int64() ? v->get_int64() : -1;
}

}  // namespace

// ---- ServerProcess ----

ServerProcess::ServerProcess(const std::filesystem::path& dir)
    : dir_(dir),
      config_path_(dir / "fieldlog-server.toml"),
      port_file_(dir / "server.port"),
      token_file_(dir / "admin.token"),
      log_path_(dir / "server.log"),
      data_dir_(dir / "server-data") {
    std::filesystem::create_directories(dir_);
    admin_token_ = "admin-" + random_uuid();
    if (!write_file_atomically(token_file_, admin_token_ + "\n", 0600)) {
        throw std::runtime_error("cannot write " + token_file_.string());
    }
    write_config();
}

ServerProcess::~ServerProcess() {
    if (running()) kill(SIGKILL);
}

void ServerProcess::write_config() const {
    std::ostringstream config;
    config << "[server]\n"
           << "listen = \"127.0.0.1:" << listen_port_ << "\"\n"
           << "threads = 2\n"
           << "admin_token_file = \"" << token_file_.string() << "\"\n"
           << "data_dir = \"" << data_dir_.string() << "\"\n"
           << "\n[limits]\n"
           << "request_timeout_s = " << request_timeout_s_ << "\n";
    if (tls_) {
        config << "\n[tls]\n"
               << "certificate = " << toml_path(tls_->certificate) << "\n"
               << "private_key = " << toml_path(tls_->private_key) << "\n";
        if (tls_->client_ca) config << "client_ca = " << toml_path(*tls_->client_ca) << "\n";
    }
    if (!write_file_atomically(config_path_, config.str(), 0644)) {
        throw std::runtime_error("cannot write " + config_path_.string());
    }
}

void ServerProcess::set_listen_port(std::uint16_t port) {
    listen_port_ = port;
    write_config();
}

void ServerProcess::set_request_timeout_s(int seconds) {
    request_timeout_s_ = seconds;
    write_config();
}

void ServerProcess::set_tls(ServerTls tls) {
    tls_ = std::move(tls);
    write_config();
}

std::string ServerProcess::url() const {
    return (tls_ ? "https" : "http") + std::string("://127.0.0.1:") + std::to_string(port_);
}

std::vector<std::string> ServerProcess::admin_command() const {
    std::vector<std::string> argv{FIELDLOG_ADMIN_PATH, "--server", url(), "--token-file",
                                  token_file_.string()};
    if (tls_) {
        argv.insert(argv.end(), {"--ca-file", tls_->ca_file.string()});
        if (tls_->client_cert && tls_->client_key) {
            argv.insert(argv.end(), {"--client-cert", tls_->client_cert->string(), "--client-key",
                                     tls_->client_key->string()});
        }
    }
    return argv;
}

std::string ServerProcess::output() const { return read_all(log_path_); }

::testing::AssertionResult ServerProcess::start(milliseconds timeout) {
    if (running()) return ::testing::AssertionFailure() << "fieldlog-server is already running";
    std::filesystem::remove(port_file_);
    std::vector<std::string> argv =
        target_command({FIELDLOG_SERVER_PATH, "--config", config_path_.string(), "--port-file",
                        port_file_.string()});
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t all;
    sigset_t none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid = -1;
    // spawnp: in a cross build argv[0] is the emulator, named without a path.
    int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        return ::testing::AssertionFailure() << "cannot spawn " << argv[0] << ": " << strerror(rc);
    }
    pid_ = pid;
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        auto text = read_file(port_file_, 64);
        if (text && !text->empty() && text->back() == '\n') {
            port_ = static_cast<std::uint16_t>(std::stoi(*text));
            return ::testing::AssertionSuccess();
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return ::testing::AssertionFailure()
                   << "fieldlog-server exited at start (" << ExitStatus{status}.describe()
                   << "); its output:\n"
                   << output();
        }
        std::this_thread::sleep_for(milliseconds(5));
    }
    kill(SIGKILL);
    return ::testing::AssertionFailure() << "fieldlog-server did not report its port within "
                                         << timeout.count() << " ms; its output:\n"
                                         << output();
}

void ServerProcess::kill(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    if (signal == SIGKILL) {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }
}

std::optional<ExitStatus> ServerProcess::stop(milliseconds timeout) {
    if (pid_ <= 0) return std::nullopt;
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return ExitStatus{status};
        }
        std::this_thread::sleep_for(milliseconds(5));
    }
    kill(SIGKILL);
    return std::nullopt;
}

std::string ServerProcess::enrol(const std::string& device_id) const {
    const auto out = dir_ / ("enrol-" + device_id + ".out");
    std::vector<std::string> argv = admin_command();
    argv.insert(argv.end(), {"--json", "device", "enrol", device_id});
    auto status = run_command(target_command(argv), out, std::chrono::seconds(30));
    std::string text = read_all(out);
    if (!status || !status->exited() || status->code() != 0) {
        ADD_FAILURE() << "fieldlog-admin device enrol " << device_id << " failed ("
                      << (status ? status->describe() : "did not finish") << "): " << text;
        return {};
    }
    auto reply = parse_object(text);
    const json::value* token = reply ? reply->if_contains("token") : nullptr;
    if (token == nullptr || !token->is_string()) {
        ADD_FAILURE() << "fieldlog-admin device enrol printed no token: " << text;
        return {};
    }
    return std::string(token->get_string());
}

std::optional<ExitStatus> ServerProcess::run_admin(const std::vector<std::string>& args,
                                                   std::string& output) const {
    static std::atomic<int> runs{0};
    const auto out = dir_ / ("admin-" + std::to_string(++runs) + ".out");
    std::vector<std::string> argv = admin_command();
    argv.insert(argv.end(), args.begin(), args.end());
    auto status = run_command(target_command(argv), out, std::chrono::seconds(30));
    output = read_all(out);
    return status;
}

std::optional<server::HttpReply> ServerProcess::admin(const std::string& method,
                                                      const std::string& target) const {
    server::HttpClientOptions options;
    options.timeout = std::chrono::seconds(30);
    if (tls_) {
        options.ca_file = tls_->ca_file;
        options.client_cert = tls_->client_cert;
        options.client_key = tls_->client_key;
    }
    auto client = server::HttpClient::create(url(), options);
    if (!client) return std::nullopt;
    auto reply = client->request(method, target, {{"Authorization", "Bearer " + admin_token_}}, {});
    if (!reply) return std::nullopt;
    return std::move(*reply);
}

json::object ServerProcess::admin_json(const std::string& target) const {
    auto reply = admin("GET", target);
    if (!reply) {
        ADD_FAILURE() << "no reply to GET " << target;
        return {};
    }
    auto body = parse_object(reply->body);
    if (reply->status != 200 || !body) {
        ADD_FAILURE() << "GET " << target << ": HTTP " << reply->status << " " << reply->body;
        return {};
    }
    return std::move(*body);
}

// ---- PortReservation ----

PortReservation::PortReservation() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        throw std::runtime_error("cannot reserve a port on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
}

PortReservation::~PortReservation() { release(); }

void PortReservation::release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

// ---- devices ----

std::unique_ptr<DaemonProcess> make_sync_device(const std::filesystem::path& dir,
                                                const std::string& device_id,
                                                const std::string& url, const std::string& token,
                                                SyncSettings settings) {
    std::filesystem::create_directories(dir);
    settings.url = url;
    settings.token_file = dir / "device.token";
    if (!write_file_atomically(settings.token_file, token + "\n", 0600)) {
        throw std::runtime_error("cannot write " + settings.token_file.string());
    }
    DaemonConfig config = default_daemon_config(dir);
    config.device_id = device_id;
    config.sync = settings;
    return std::make_unique<DaemonProcess>(dir, std::move(config));
}

void set_device_tls(const DaemonProcess& daemon, const DeviceTls& tls) {
    std::string text = daemon_config_toml(daemon.config());
    const std::string table = "\n[sync]\n";
    auto at = text.find(table);
    if (at == std::string::npos) throw std::invalid_argument("the daemon's config has no [sync]");
    std::string keys = "ca_file = " + toml_path(tls.ca_file) + "\n";
    if (tls.client_cert && tls.client_key) {
        keys += "client_cert = " + toml_path(*tls.client_cert) +
                "\nclient_key = " + toml_path(*tls.client_key) + "\n";
    }
    text.insert(at + table.size(), keys);
    daemon.write_config_text(text);
}

std::optional<ExitStatus> run_cli(const DaemonProcess& daemon, const std::vector<std::string>& args,
                                  std::string& output) {
    static std::atomic<int> runs{0};
    const auto out =
        daemon.config_path().parent_path() / ("cli-" + std::to_string(++runs) + ".out");
    std::vector<std::string> argv{FIELDLOG_CLI_PATH, "--socket", daemon.config().socket.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto status = run_command(target_command(argv), out, std::chrono::seconds(30));
    output = read_all(out);
    return status;
}

std::string open_inspection(const DaemonProcess& daemon) {
    auto result = daemon.ok("inspection.start", {{"site_id", "wwtp-east"},
                                                 {"kind", "wastewater_discharge"},
                                                 {"inspectors", json::array{"Li Wei"}}});
    const json::value* inspection = result.if_contains("inspection");
    if (inspection == nullptr || !inspection->is_object()) return {};
    return std::string(inspection->at("id").as_string());
}

WriteResult add_measurements(const DaemonProcess& daemon, std::int64_t total, int clients,
                             int window, milliseconds limit) {
    WriteResult result;
    std::mutex mutex;
    std::atomic<std::int64_t> next{0};
    const auto started = Clock::now();
    const auto deadline = started + limit;
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&] {
            auto client = daemon.connect();
            std::int64_t ok = 0;
            std::int64_t failed = 0;
            std::string error;
            if (!client) {
                std::lock_guard lock(mutex);
                result.first_error = "cannot connect to the control socket";
                return;
            }
            int in_flight = 0;
            bool done_sending = false;
            while ((in_flight > 0 || !done_sending) && Clock::now() < deadline) {
                while (!done_sending && in_flight < window) {
                    std::int64_t n = next.fetch_add(1);
                    if (n >= total) {
                        done_sending = true;
                        break;
                    }
                    json::object request{
                        {"id", n},
                        {"op", "measurement.add"},
                        {"args", json::object{{"parameter", n % 2 == 0 ? "COD" : "NH3-N"},
                                              {"value", static_cast<double>(n % 97) / 4.0},
                                              {"unit", "mg/L"},
                                              {"sampling_point", "outfall"}}}};
                    if (!client->send(json::serialize(request) + "\n")) {
                        done_sending = true;
                        error = "the daemon closed the connection";
                        break;
                    }
                    ++in_flight;
                }
                if (in_flight == 0) break;
                auto line = client->read_line();
                if (!line) {
                    if (error.empty()) error = "no reply from the daemon";
                    break;
                }
                --in_flight;
                auto reply = parse_object(*line);
                const json::value* good = reply ? reply->if_contains("ok") : nullptr;
                if (good != nullptr && good->is_bool() && good->get_bool()) {
                    ++ok;
                } else {
                    ++failed;
                    if (error.empty()) error = *line;
                }
            }
            std::lock_guard lock(mutex);
            result.acknowledged += ok;
            result.failed += failed;
            if (result.first_error.empty()) result.first_error = error;
        });
    }
    for (auto& t : threads) t.join();
    result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return result;
}

std::vector<std::uint8_t> make_padded_jpeg(std::uint32_t seed, std::size_t size) {
    JpegFixture fixture;
    fixture.seed = seed;
    fixture.width = 64;
    fixture.height = 48;
    fixture.exif_datetime = "2026:11:25 10:42:17";
    fixture.exif_offset = "+08:00";
    std::vector<std::uint8_t> jpeg = make_test_jpeg(fixture);
    // APP11 segments (which readers skip) right after SOI; their bytes vary with the seed.
    std::vector<std::uint8_t> padding;
    std::uint32_t x = seed * 2654435761U + 1;
    while (jpeg.size() + padding.size() < size) {
        const std::size_t payload = 65533;
        padding.push_back(0xFF);
        padding.push_back(0xEB);
        padding.push_back(static_cast<std::uint8_t>((payload + 2) >> 8));
        padding.push_back(static_cast<std::uint8_t>((payload + 2) & 0xFF));
        for (std::size_t i = 0; i < payload; ++i) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            padding.push_back(static_cast<std::uint8_t>(x));
        }
    }
    jpeg.insert(jpeg.begin() + 2, padding.begin(), padding.end());
    return jpeg;
}

std::string add_photo(const DaemonProcess& daemon, const std::filesystem::path& path) {
    auto result = daemon.ok("photo.add", {{"path", path.string()},
                                          {"tags", json::array{"open dumping"}},
                                          {"caption", path.filename().string()}});
    const json::value* photo = result.if_contains("photo");
    if (photo == nullptr || !photo->is_object()) return {};
    return std::string(photo->at("sha256").as_string());
}

json::object sync_status(const DaemonProcess& daemon) {
    auto reply = daemon.request(json::object{{"op", "status"}});
    if (!reply || !reply->is_object()) return {};
    const json::value* result = reply->get_object().if_contains("result");
    if (result == nullptr || !result->is_object()) return {};
    const json::value* sync = result->get_object().if_contains("sync");
    return sync != nullptr && sync->is_object() ? sync->get_object() : json::object{};
}

std::int64_t pending_entries(const DaemonProcess& daemon) {
    return int_at(sync_status(daemon), "pending_entries");
}

bool wait_outbox_empty(const DaemonProcess& daemon, milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
        if (pending_entries(daemon) == 0) return true;
        std::this_thread::sleep_for(milliseconds(50));
    }
    return pending_entries(daemon) == 0;
}

bool sync_until_drained(const DaemonProcess& daemon, milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
        auto client = daemon.connect();
        if (client) {
            auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
            client->request(json::object{{"op", "sync"}, {"args", json::object{{"wait", true}}}},
                            std::max(left, milliseconds(1)));
        }
        if (pending_entries(daemon) == 0) return true;
        std::this_thread::sleep_for(milliseconds(50));
    }
    return pending_entries(daemon) == 0;
}

// ---- chains ----

namespace {

std::vector<ChainRow> read_chain(const std::filesystem::path& db_path, std::string_view sql,
                                 const std::optional<std::string>& device_id) {
    std::vector<ChainRow> rows;
    auto db = store::Database::open(db_path, store::Database::Mode::read_only);
    if (!db) {
        ADD_FAILURE() << db.error().message();
        return rows;
    }
    auto stmt = db->prepare(sql);
    if (!stmt) {
        ADD_FAILURE() << stmt.error().message();
        return rows;
    }
    if (device_id) (*stmt)->bind(1, *device_id);
    for (;;) {
        auto row = (*stmt)->step();
        if (!row) {
            ADD_FAILURE() << row.error().message();
            break;
        }
        if (!*row) break;
        ChainRow r;
        r.seq = (*stmt)->int64(0);
        r.kind = (*stmt)->text(1);
        r.record_id = (*stmt)->text(2);
        r.action = (*stmt)->text(3);
        r.entry_hash = to_hex((*stmt)->blob(4));
        rows.push_back(std::move(r));
    }
    (*stmt)->reset();
    return rows;
}

}  // namespace

std::vector<ChainRow> device_chain(const DaemonProcess& daemon) {
    return read_chain(daemon.config().data_dir / "fieldlog.db",
                      "SELECT seq, kind, record_id, action, entry_hash FROM evidence_chain "
                      "ORDER BY seq",
                      std::nullopt);
}

std::vector<ChainRow> server_entries(const ServerProcess& server, const std::string& device_id) {
    return read_chain(server.data_dir() / "server.db",
                      "SELECT seq, kind, record_id, action, entry_hash FROM entries "
                      "WHERE device_id = ?1 ORDER BY seq",
                      device_id);
}

::testing::AssertionResult server_holds_prefix(const ServerProcess& server,
                                               const std::string& device_id,
                                               const std::vector<ChainRow>& chain) {
    auto stored = server_entries(server, device_id);
    std::set<std::int64_t> seen;
    for (std::size_t i = 0; i < stored.size(); ++i) {
        const ChainRow& s = stored[i];
        if (!seen.insert(s.seq).second) {
            return ::testing::AssertionFailure() << device_id << ": seq " << s.seq << " twice";
        }
        if (s.seq != static_cast<std::int64_t>(i) + 1) {
            return ::testing::AssertionFailure() << device_id << ": the server holds seq " << s.seq
                                                 << " at position " << i + 1 << " (a gap)";
        }
        if (i >= chain.size()) {
            return ::testing::AssertionFailure()
                   << device_id << ": the server holds seq " << s.seq
                   << " beyond the device's chain (" << chain.size() << ")";
        }
        if (s.entry_hash != chain[i].entry_hash || s.kind != chain[i].kind ||
            s.record_id != chain[i].record_id) {
            return ::testing::AssertionFailure()
                   << device_id << ": seq " << s.seq << " differs from the device's entry";
        }
    }
    return ::testing::AssertionSuccess() << stored.size() << " entries";
}

::testing::AssertionResult delivered_exactly_once(const ServerProcess& server,
                                                  const DaemonProcess& daemon) {
    const std::string& id = daemon.config().device_id;
    std::int64_t pending = pending_entries(daemon);
    if (pending != 0) {
        return ::testing::AssertionFailure()
               << id << ": the outbox still holds " << pending << " entries; status.sync "
               << json::serialize(sync_status(daemon));
    }
    auto chain = device_chain(daemon);
    if (chain.empty()) return ::testing::AssertionFailure() << id << ": empty device chain";
    const auto n = static_cast<std::int64_t>(chain.size());
    for (std::int64_t i = 0; i < n; ++i) {
        if (chain[static_cast<std::size_t>(i)].seq != i + 1) {
            return ::testing::AssertionFailure() << id << ": device chain has a gap at " << i + 1;
        }
    }

    auto stored = server_entries(server, id);
    if (static_cast<std::int64_t>(stored.size()) != n) {
        return ::testing::AssertionFailure() << id << ": the server holds " << stored.size()
                                             << " entries, the device's chain has " << n;
    }
    if (auto prefix = server_holds_prefix(server, id, chain); !prefix) return prefix;

    // The read API: each record once, at the seq of its latest write.
    std::map<std::pair<std::string, std::string>, std::int64_t> expected;
    for (const auto& row : chain) {
        if (row.action == "put") {
            expected[{row.kind, row.record_id}] = row.seq;
        } else {
            expected.erase({row.kind, row.record_id});
        }
    }
    std::map<std::pair<std::string, std::string>, std::int64_t> listed;
    std::int64_t after = 0;
    for (int page = 0; page < 10'000; ++page) {
        auto body = server.admin_json("/v1/records?device_id=" + id +
                                      "&limit=1000&after_seq=" + std::to_string(after));
        const json::value* records = body.if_contains("records");
        if (records == nullptr || !records->is_array()) {
            return ::testing::AssertionFailure() << id << ": /v1/records gave no records array";
        }
        if (records->get_array().empty()) break;
        for (const json::value& r : records->get_array()) {
            const json::object& o = r.get_object();
            std::pair key{std::string(o.at("kind").as_string()),
                          std::string(o.at("record_id").as_string())};
            std::int64_t seq = o.at("seq").as_int64();
            if (!listed.emplace(key, seq).second) {
                return ::testing::AssertionFailure() << id << ": /v1/records lists " << key.first
                                                     << " " << key.second << " twice";
            }
            if (seq <= after) {
                return ::testing::AssertionFailure()
                       << id << ": /v1/records went back to seq " << seq;
            }
            after = seq;
        }
    }
    if (listed != expected) {
        std::ostringstream diff;
        int shown = 0;
        for (const auto& [key, seq] : expected) {
            auto it = listed.find(key);
            if ((it == listed.end() || it->second != seq) && shown++ < 5) {
                diff << " missing or stale " << key.first << " " << key.second << " (seq " << seq
                     << ");";
            }
        }
        for (const auto& [key, seq] : listed) {
            if (!expected.contains(key) && shown++ < 10) {
                diff << " unexpected " << key.first << " " << key.second << " (seq " << seq << ");";
            }
        }
        return ::testing::AssertionFailure()
               << id << ": /v1/records holds " << listed.size() << " records, the device "
               << expected.size() << ":" << diff.str();
    }

    // acked_seq as the server reports it.
    auto devices = server.admin_json("/v1/admin/devices");
    std::int64_t acked = -1;
    if (const json::value* list = devices.if_contains("devices"); list && list->is_array()) {
        for (const json::value& d : list->get_array()) {
            if (d.get_object().at("device_id").as_string() == id) {
                acked = int_at(d.get_object(), "acked_seq");
            }
        }
    }
    if (acked != n) {
        return ::testing::AssertionFailure()
               << id << ": the server's acked_seq is " << acked << ", the device's head " << n;
    }

    auto verify = server.admin_json("/v1/devices/" + id + "/verify");
    const json::value* ok = verify.if_contains("ok");
    if (ok == nullptr || !ok->is_bool() || !ok->get_bool() ||
        int_at(verify, "entries_checked") != n) {
        return ::testing::AssertionFailure() << id << ": verify says " << json::serialize(verify)
                                             << " (expected " << n << " entries checked)";
    }
    return ::testing::AssertionSuccess()
           << id << ": " << n << " entries, " << listed.size() << " records";
}

::testing::AssertionResult blob_matches(const ServerProcess& server, const std::string& sha256,
                                        const std::filesystem::path& original) {
    auto reply = server.admin("GET", "/v1/blobs/" + sha256);
    if (!reply || reply->status != 200) {
        return ::testing::AssertionFailure()
               << "GET /v1/blobs/" << sha256 << ": "
               << (reply ? "HTTP " + std::to_string(reply->status) + " " + reply->body
                         : std::string("no reply"));
    }
    std::string hash = to_hex(fieldlog::sha256(reply->body));
    if (hash != sha256) {
        return ::testing::AssertionFailure() << "blob " << sha256 << " on the server hashes to "
                                             << hash << " (" << reply->body.size() << " bytes)";
    }
    if (reply->body != read_all(original)) {
        return ::testing::AssertionFailure()
               << "blob " << sha256 << " differs from " << original.string();
    }
    return ::testing::AssertionSuccess();
}

std::int64_t peak_rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    for (int i = 0; i < 200 && std::getline(in, line); ++i) {
        if (line.starts_with("VmHWM:")) {
            return std::stoll(line.substr(6));
        }
    }
    return 0;
}

}  // namespace fieldlog::testing
