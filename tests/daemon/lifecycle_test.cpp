#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "daemon_process.hpp"
#include "fieldlog/store/schema.hpp"
#include "temp_dir.hpp"

namespace fieldlog::testing {
namespace {

namespace json = boost::json;

std::vector<std::string> events_oldest_first(const json::object& logs) {
    std::vector<std::string> events;
    const auto& entries = logs.at("entries").as_array();
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
        events.emplace_back(it->at("event").as_string());
    }
    return events;
}

TEST(DaemonLifecycle, AnswersStatusAndStopsCleanlyOnSigterm) {
    TempDir dir;
    DaemonProcess daemon(dir.path(), default_daemon_config(dir.path()));
    ASSERT_TRUE(daemon.start());

    auto status = daemon.ok("status");
    ASSERT_FALSE(status.empty());
    EXPECT_EQ(status.at("device_id").as_string(), "test-device");
    EXPECT_EQ(status.at("schema_version").as_int64(), store::latest_schema_version());
    const auto& outbox = status.at("outbox").as_object();
    // The start entry of the device log is the first record, and nothing has synced it.
    EXPECT_GE(outbox.at("head_seq").as_int64(), 1);
    EXPECT_EQ(outbox.at("pending_entries").as_int64(), outbox.at("head_seq").as_int64());
    EXPECT_GT(outbox.at("pending_bytes").as_int64(), 0);

    // An idle client connected at shutdown is let go rather than keeping the daemon up.
    auto idle = daemon.connect();
    ASSERT_TRUE(idle);
    ASSERT_TRUE(idle->request(json::object{{"op", "status"}}));

    ASSERT_TRUE(daemon.kill(SIGTERM));
    auto exit = daemon.wait_exit();
    ASSERT_TRUE(exit) << "fieldlogd did not exit on SIGTERM; output:\n" << daemon.output();
    EXPECT_TRUE(exit->exited() && exit->code() == 0) << exit->describe() << "; output:\n"
                                                     << daemon.output();
    EXPECT_FALSE(std::filesystem::exists(daemon.config().socket))
        << "the control socket outlived the daemon";
    EXPECT_TRUE(idle->wait_closed());
}

TEST(DaemonLifecycle, DeviceLogRecordsStartAndStopAcrossRestart) {
    TempDir dir;
    DaemonProcess daemon(dir.path(), default_daemon_config(dir.path()));
    ASSERT_TRUE(daemon.start());
    ASSERT_TRUE(daemon.kill(SIGTERM));
    auto exit = daemon.wait_exit();
    ASSERT_TRUE(exit && exit->exited() && exit->code() == 0) << daemon.output();

    ASSERT_TRUE(daemon.start());
    auto logs = daemon.ok("logs", {{"limit", 10}});
    ASSERT_FALSE(logs.empty());
    EXPECT_EQ(events_oldest_first(logs), (std::vector<std::string>{"start", "stop", "start"}));
    const auto& entries = logs.at("entries").as_array();
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_NE(std::string(entries[1].at("message").as_string()).find("SIGTERM"), std::string::npos)
        << entries[1];
    EXPECT_NE(std::string(entries[0].at("message").as_string()).find("test-device"),
              std::string::npos)
        << entries[0];

    // The log entries are evidence records like any other: the chain over them verifies.
    auto verified = daemon.ok("verify");
    EXPECT_TRUE(verified.at("ok").as_bool()) << json::value(verified);
    EXPECT_EQ(verified.at("head_seq").as_int64(), 3);
}

TEST(DaemonLifecycle, SecondDaemonOnTheSameSocketRefusesToStart) {
    TempDir dir;
    DaemonProcess first(dir.path(), default_daemon_config(dir.path()));
    ASSERT_TRUE(first.start());

    TempDir other;
    auto config = default_daemon_config(other.path());
    config.socket = first.config().socket;
    DaemonProcess second(other.path(), config);
    ASSERT_TRUE(second.spawn(
        {DaemonProcess::executable().string(), "--config", second.config_path().string()}));
    auto exit = second.wait_exit();
    ASSERT_TRUE(exit) << "the second daemon kept running";
    EXPECT_TRUE(exit->exited() && exit->code() != 0) << exit->describe();
    EXPECT_NE(second.output().find("already serving"), std::string::npos) << second.output();

    // The first one still owns and answers on its socket.
    EXPECT_TRUE(first.running());
    EXPECT_FALSE(first.ok("status").empty());
}

// SIGTERM while clients are writing: the daemon stops accepting, lets queued writes commit and
// exits 0 (under the sanitizers: without touching a freed session); no "saved" write is lost.
TEST(DaemonLifecycle, SigtermUnderWriteLoadExitsCleanlyAndKeepsAcknowledgedWrites) {
    TempDir dir;
    DaemonProcess daemon(dir.path(), default_daemon_config(dir.path()));
    ASSERT_TRUE(daemon.start());

    std::mutex mutex;
    std::set<std::string> saved;
    std::atomic<int> acknowledged{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
        writers.emplace_back([&, w] {
            auto client = daemon.connect();
            for (int k = 0; client && k < 500; ++k) {
                std::string case_number = "T" + std::to_string(w) + "-" + std::to_string(k);
                auto reply = client->request(
                    json::object{{"op", "complaint.add"},
                                 {"args", {{"case_number", case_number}, {"batch_number", 1}}}});
                if (!reply) return;  // the daemon closed the connection
                if (reply->at("ok").as_bool()) {
                    std::lock_guard lock(mutex);
                    saved.insert(case_number);
                    ++acknowledged;
                }
            }
        });
    }
    // Stop in the middle of the load, once some writes are through.
    const auto deadline = std::chrono::steady_clock::now() + reply_timeout;
    while (acknowledged.load() < 40 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_GE(acknowledged.load(), 40);
    const bool signalled = daemon.kill(SIGTERM);
    auto exit = daemon.wait_exit();
    for (auto& t : writers) t.join();  // each ends with the connection, or its write budget
    ASSERT_TRUE(signalled);
    ASSERT_TRUE(exit) << "fieldlogd did not stop under load";
    EXPECT_TRUE(exit->exited() && exit->code() == 0) << exit->describe() << "; output:\n"
                                                     << daemon.output();

    ASSERT_TRUE(daemon.start());
    auto list = daemon.ok("complaint.list", {{"batch_number", 1}});
    ASSERT_FALSE(list.empty());
    std::set<std::string> stored;
    for (const auto& c : list.at("complaints").as_array()) {
        stored.emplace(c.at("case_number").as_string());
    }
    for (const auto& case_number : saved) {
        EXPECT_TRUE(stored.count(case_number))
            << "acknowledged complaint " << case_number << " is gone";
    }
    auto verified = daemon.ok("verify");
    EXPECT_TRUE(!verified.empty() && verified.at("ok").as_bool()) << json::value(verified);
}

// A stale socket file from a killed daemon is replaced, but control.socket naming anything
// else (a typo that names the database, a config file) must not cost that file.
TEST(DaemonLifecycle, SocketPathNamingAnOrdinaryFileIsRefusedAndTheFileKept) {
    TempDir dir;
    auto config = default_daemon_config(dir.path());
    config.socket = dir / "notes.txt";
    { std::ofstream(config.socket) << "inspection notes\n"; }
    DaemonProcess daemon(dir.path(), config);
    ASSERT_TRUE(daemon.spawn(
        {DaemonProcess::executable().string(), "--config", daemon.config_path().string()}));
    auto exit = daemon.wait_exit(std::chrono::seconds(10));
    ASSERT_TRUE(exit) << "fieldlogd took over " << config.socket;
    EXPECT_TRUE(exit->exited() && exit->code() != 0) << exit->describe();
    EXPECT_NE(daemon.output().find(config.socket.string()), std::string::npos) << daemon.output();
    std::ifstream in(config.socket);
    std::string kept(std::istreambuf_iterator<char>(in), {});
    EXPECT_EQ(kept, "inspection notes\n");
}

// The store has a single writer: a second daemon on the same data dir (another config, another
// socket) would append chain entries behind the first one's back, and the first would fail
// every later write on the duplicate sequence number.
TEST(DaemonLifecycle, SecondDaemonOnTheSameDataDirRefusesToStart) {
    TempDir dir;
    DaemonProcess first(dir.path(), default_daemon_config(dir.path()));
    ASSERT_TRUE(first.start());

    TempDir other;
    auto config = default_daemon_config(other.path());
    config.data_dir = first.config().data_dir;
    DaemonProcess second(other.path(), config);
    ASSERT_TRUE(second.spawn(
        {DaemonProcess::executable().string(), "--config", second.config_path().string()}));
    auto exit = second.wait_exit(std::chrono::seconds(10));
    ASSERT_TRUE(exit) << "a second daemon runs on the same data dir";
    EXPECT_TRUE(exit->exited() && exit->code() != 0) << exit->describe();
    EXPECT_NE(second.output().find(config.data_dir.string()), std::string::npos) << second.output();
    EXPECT_FALSE(std::filesystem::exists(config.socket));

    // The first daemon is undisturbed: it still saves, and its chain verifies.
    EXPECT_FALSE(first.ok("complaint.add", {{"case_number", "D-1"}, {"batch_number", 1}}).empty());
    auto verified = first.ok("verify");
    EXPECT_TRUE(!verified.empty() && verified.at("ok").as_bool()) << json::value(verified);

    // Once the first has stopped, the data dir is free again.
    ASSERT_TRUE(first.kill(SIGTERM));
    ASSERT_TRUE(first.wait_exit());
    ASSERT_TRUE(second.start());
    auto list = second.ok("complaint.list");
    ASSERT_FALSE(list.empty());
    EXPECT_EQ(list.at("complaints").as_array().size(), 1u);
}

}  // namespace
}  // namespace fieldlog::testing
