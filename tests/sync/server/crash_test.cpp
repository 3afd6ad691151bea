// The fieldlog-server executable killed with SIGKILL while a device posts batches, then started
// again on the same data directory, round after round: every acknowledged batch must survive,
// no seq may be stored twice, and ingest must carry on where it stopped.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <random>
#include <thread>

#include "fieldlog/files.hpp"
#include "server_harness.hpp"
#include "target_command.hpp"

extern char** environ;

namespace fieldlog::server::testing {
namespace {

namespace json = boost::json;
using Ms = std::chrono::milliseconds;

constexpr int rounds = 20;

// One run of the server executable as a child process.
class ServerProcess {
public:
    ServerProcess(const std::filesystem::path& config, const std::filesystem::path& port_file,
                  const std::filesystem::path& log_file) {
        std::filesystem::remove(port_file);
        std::string exe = FIELDLOG_SERVER_EXE;
        std::vector<std::string> command = ::fieldlog::testing::target_command(
            {exe, "--config", config.string(), "--port-file", port_file.string()});
        std::vector<char*> argv;
        for (auto& word : command) argv.push_back(word.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 2, log_file.c_str(),
                                         O_WRONLY | O_CREAT | O_APPEND, 0644);
        // spawnp: in a cross build argv[0] is the emulator, named without a path.
        int rc = posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) throw std::runtime_error("cannot start " + exe);
        // Wait (bounded) for the port the server bound.
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < deadline) {
            auto text = read_file(port_file, 64);
            if (text && !text->empty() && text->back() == '\n') {
                port_ = static_cast<std::uint16_t>(std::stoi(*text));
                return;
            }
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("fieldlog-server exited at start");
            }
            std::this_thread::sleep_for(Ms(10));
        }
        kill();
        throw std::runtime_error("fieldlog-server did not report its port within 20 s");
    }
    ~ServerProcess() { kill(); }

    std::uint16_t port() const { return port_; }

    void kill() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

    // SIGTERM, then wait (bounded) for a clean exit; returns the exit status or -1.
    int terminate(std::chrono::seconds limit) {
        if (pid_ <= 0) return -1;
        ::kill(pid_, SIGTERM);
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            std::this_thread::sleep_for(Ms(10));
        }
        kill();
        return -1;
    }

private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

// The device side: keeps its chain, and knows only what 200 replies acknowledged.
struct Device {
    DeviceChain chain{"crash-01"};
    std::string token;
    std::int64_t acked = 0;  // highest acked_seq any 200 reply carried
    std::int64_t batches_acked = 0;
    std::mt19937 random{12345};

    void extend_to(std::int64_t seq) {
        while (chain.last_seq() < seq) {
            std::int64_t n = chain.last_seq() + 1;
            if (n % 7 == 0) {
                std::string id = "insp-" + std::to_string(n);
                chain.append("inspection", id, inspection_record(id, "plant-1", n));
            } else {
                chain.append("device_log", std::to_string(n), log_record(n, n, "tick"));
            }
        }
    }

    // Posts batches until a request gets no reply (the server died) or stop is set. Returns
    // a description of the first protocol violation, or "".
    std::string post_until_cut(std::uint16_t port, const std::atomic<bool>& stop) {
        HttpClientOptions options;
        options.timeout = std::chrono::seconds(10);
        auto client =
            HttpClient::create("http://127.0.0.1:" + std::to_string(port), options).value();
        std::uniform_int_distribution<int> size(1, 20);
        for (int i = 0; i < 10000 && !stop; ++i) {
            std::int64_t first = acked + 1;
            std::int64_t last = acked + size(random);
            extend_to(last);
            auto reply = client.request(
                "POST", "/v1/devices/crash-01/batches",
                {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                json::serialize(chain.batch(first, last)));
            if (!reply) return "";  // cut off: the server is gone
            if (reply->status != 200) {
                return "status " + std::to_string(reply->status) + ": " + reply->body;
            }
            std::int64_t got = parse_object(reply->body).at("acked_seq").as_int64();
            if (got < last)
                return "acked_seq " + std::to_string(got) + " below " + std::to_string(last);
            acked = got;
            ++batches_acked;
        }
        return "";
    }
};

TEST(ServerCrash, EveryAcknowledgedBatchSurvivesSigkill) {
    fieldlog::testing::TempDir dir;
    std::string admin_token = write_admin_token(dir / "admin.token");
    std::filesystem::path config = dir / "fieldlog-server.toml";
    write_file_atomically(config,
                          "[server]\nlisten = \"127.0.0.1:0\"\nthreads = 2\n"
                          "admin_token_file = \"admin.token\"\ndata_dir = \"data\"\n",
                          0644)
        .value();
    std::filesystem::path port_file = dir / "port";
    std::filesystem::path log_file = dir / "server.log";

    Device device;
    {
        ServerProcess server(config, port_file, log_file);
        HttpClient admin =
            HttpClient::create("http://127.0.0.1:" + std::to_string(server.port())).value();
        auto enrolled = admin
                            .request("POST", "/v1/admin/devices",
                                     {{"Authorization", "Bearer " + admin_token},
                                      {"Content-Type", "application/json"}},
                                     R"({"device_id": "crash-01"})")
                            .value();
        ASSERT_EQ(enrolled.status, 201) << enrolled.body;
        device.token = std::string(parse_object(enrolled.body).at("token").as_string());
    }

    std::mt19937 random(2024);
    std::uniform_int_distribution<int> run_ms(40, 250);
    auto started = std::chrono::steady_clock::now();
    for (int round = 0; round < rounds; ++round) {
        ServerProcess server(config, port_file, log_file);
        std::atomic<bool> stop{false};
        std::string violation;
        std::thread client([&] { violation = device.post_until_cut(server.port(), stop); });
        std::this_thread::sleep_for(Ms(run_ms(random)));
        server.kill();
        stop = true;
        client.join();
        ASSERT_EQ(violation, "") << "round " << round;
        ASSERT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(90))
            << "the rounds are taking too long (round " << round << ")";
    }

    // The database as the last SIGKILL left it.
    StoredCounts stored = stored_counts(dir / "data", "crash-01");
    EXPECT_GE(stored.max_seq, device.acked);
    EXPECT_EQ(stored.entries, stored.max_seq);
    EXPECT_EQ(stored.distinct_seqs, stored.entries);
    EXPECT_GT(device.batches_acked, rounds);
    RecordProperty("batches_acked", static_cast<int>(device.batches_acked));
    RecordProperty("entries_stored", static_cast<int>(stored.max_seq));

    // Restarted once more: the chain verifies, and ingest continues after it.
    ServerProcess server(config, port_file, log_file);
    HttpClient admin =
        HttpClient::create("http://127.0.0.1:" + std::to_string(server.port())).value();
    HttpHeaders auth{{"Authorization", "Bearer " + admin_token}};
    auto verify = admin.request("GET", "/v1/devices/crash-01/verify", auth).value();
    json::object report = parse_object(verify.body);
    EXPECT_EQ(report.at("ok"), true) << verify.body;
    EXPECT_EQ(report.at("entries_checked"), stored.max_seq);
    EXPECT_EQ(report.at("acked_seq"), stored.max_seq);
    std::atomic<bool> stop{false};
    std::int64_t before = device.batches_acked;
    std::thread more([&] {
        std::this_thread::sleep_for(Ms(300));
        stop = true;
    });
    EXPECT_EQ(device.post_until_cut(server.port(), stop), "");
    more.join();
    EXPECT_GT(device.batches_acked, before);
    EXPECT_EQ(server.terminate(std::chrono::seconds(20)), 0);
    EXPECT_EQ(stored_counts(dir / "data", "crash-01").max_seq, device.acked);
}

}  // namespace
}  // namespace fieldlog::server::testing
