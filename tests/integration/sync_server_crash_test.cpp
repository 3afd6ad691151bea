// fieldlog-server killed with SIGKILL while devices sync to it, again and again. What a device
// was told is stored (and so deleted from its outbox) must be on the server after every crash,
// exactly once; and in the end everything arrives.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <random>
#include <set>
#include <thread>

#include "fault_proxy.hpp"
#include "fieldlog/files.hpp"
#include "fieldlog/store/database.hpp"
#include "sync_harness.hpp"
#include "temp_dir.hpp"

namespace fieldlog::testing {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int rounds = 40;
constexpr int devices = 2;

// The seqs a device has deleted from its outbox: those the server acknowledged.
std::set<std::int64_t> acknowledged_seqs(const DaemonProcess& daemon) {
    std::set<std::int64_t> out;
    auto db = store::Database::open(daemon.config().data_dir / "fieldlog.db",
                                    store::Database::Mode::read_only);
    if (!db) {
        ADD_FAILURE() << db.error().message();
        return out;
    }
    auto stmt = db->prepare(
        "SELECT seq FROM evidence_chain WHERE seq NOT IN (SELECT seq FROM outbox) ORDER BY seq");
    if (!stmt) {
        ADD_FAILURE() << stmt.error().message();
        return out;
    }
    for (;;) {
        auto row = (*stmt)->step();
        if (!row || !*row) break;
        out.insert((*stmt)->int64(0));
    }
    (*stmt)->reset();
    return out;
}

TEST(SyncServerCrash, AcknowledgedRecordsSurviveRepeatedSigkillDuringIngest) {
    TempDir dir;
    ServerProcess server(dir / "server");
    ASSERT_TRUE(server.start());
    FaultProxy proxy(server.port());  // a fixed address for the devices across restarts
    std::vector<std::unique_ptr<DaemonProcess>> fleet;
    SyncSettings settings;
    settings.batch_max_entries = 50;
    settings.batch_max_age_ms = 10;
    settings.retry_initial_ms = 20;
    settings.retry_max_ms = 200;
    settings.request_timeout_ms = 3000;
    settings.chunk_bytes = 128 * 1024;
    for (int d = 0; d < devices; ++d) {
        std::string id = "crash-" + std::to_string(d + 1);
        std::string token = server.enrol(id);
        ASSERT_FALSE(token.empty());
        fleet.push_back(make_sync_device(dir / id, id, proxy.url(), token, settings));
        ASSERT_TRUE(fleet.back()->start());
        ASSERT_FALSE(open_inspection(*fleet.back()).empty());
    }
    // Photos too, so that kills also land in blob uploads.
    std::vector<std::pair<std::string, std::filesystem::path>> photos;
    for (int d = 0; d < devices; ++d) {
        for (int p = 0; p < 2; ++p) {
            auto path = dir / ("crash-" + std::to_string(d) + "-" + std::to_string(p) + ".jpg");
            auto bytes = make_padded_jpeg(static_cast<std::uint32_t>(500 + d * 2 + p), 2u << 20);
            ASSERT_TRUE(write_file_atomically(
                path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                0644));
            photos.emplace_back(add_photo(*fleet[d], path), path);
        }
    }

    // Inspectors keep recording on every device throughout.
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    std::vector<std::int64_t> written(devices, 0);
    // Joins the writers however the test ends, a failed assertion included.
    struct Join {
        std::atomic<bool>& stop;
        std::vector<std::thread>& threads;
        ~Join() {
            stop = true;
            for (auto& t : threads) {
                if (t.joinable()) t.join();
            }
        }
    } join{stop, writers};
    for (int d = 0; d < devices; ++d) {
        writers.emplace_back([&, d] {
            for (int i = 0; i < 10'000 && !stop; ++i) {
                auto r = add_measurements(*fleet[d], 20, 2, 4, 20s);
                written[d] += r.acknowledged;
                if (r.failed > 0 || r.acknowledged < 20) break;
                std::this_thread::sleep_for(10ms);
            }
        });
    }

    std::mt19937 random(20261125);
    std::uniform_int_distribution<int> after_ms(0, 60);
    const auto started = Clock::now();
    int killed_in_ingest = 0;
    std::size_t blob_kills = 0;  // blob exchanges in flight at a kill
    for (int round = 0; round < rounds; ++round) {
        // Kill while a batch is with the server: forwarded, its answer not yet back. Polled
        // every millisecond for at most 3 s; a round that sees none kills anyway.
        bool busy = false;
        for (int i = 0; i < 3000 && !busy; ++i) {
            busy = proxy.in_flight("/batches") + proxy.in_flight("/blobs/") > 0;
            if (!busy) std::this_thread::sleep_for(1ms);
        }
        if (!busy) std::this_thread::sleep_for(std::chrono::milliseconds(after_ms(random)));
        server.kill(SIGKILL);
        killed_in_ingest += busy ? 1 : 0;
        blob_kills += proxy.in_flight("/blobs/");
        proxy.close_connections();

        // With the server dead, its database is as the crash left it.
        for (const auto& daemon : fleet) {
            auto chain = device_chain(*daemon);
            auto acked = acknowledged_seqs(*daemon);
            auto held = server_entries(server, daemon->config().device_id);
            ASSERT_TRUE(server_holds_prefix(server, daemon->config().device_id, chain))
                << "round " << round;
            ASSERT_TRUE(acked.empty() || *acked.rbegin() <= static_cast<std::int64_t>(held.size()))
                << "round " << round << ": " << daemon->config().device_id
                << " deleted entries up to " << *acked.rbegin() << " but the server holds "
                << held.size();
        }
        ASSERT_TRUE(server.start()) << "round " << round;
        proxy.set_upstream(server.port());
        ASSERT_LT(Clock::now() - started, 120s)
            << "the rounds take too long (round " << round << ")";
    }
    stop = true;
    for (auto& t : writers) t.join();
    EXPECT_GE(killed_in_ingest, rounds / 2);
    RecordProperty("killed_in_ingest", killed_in_ingest);

    for (int d = 0; d < devices; ++d) {
        EXPECT_GT(written[d], 0);
        ASSERT_TRUE(sync_until_drained(*fleet[d], 60s)) << json::serialize(sync_status(*fleet[d]));
        EXPECT_TRUE(delivered_exactly_once(server, *fleet[d]));
    }
    for (const auto& [sha, path] : photos) EXPECT_TRUE(blob_matches(server, sha, path));
    RecordProperty("blob_exchanges_cut", static_cast<int>(blob_kills));
    RecordProperty("records_written",
                   std::to_string(written[0]) + " + " + std::to_string(written[1]));
    RecordProperty("seconds",
                   std::to_string(std::chrono::duration<double>(Clock::now() - started).count()));
}

// The other side: fieldlogd killed with SIGKILL while it syncs, and started again. An entry
// the server acknowledged but the device had not yet deleted goes again and is taken as a
// replay; sequence numbers are never reused, so the server's chain is the device's.
TEST(SyncDeviceCrash, ADeviceKilledWhileSyncingResendsWithoutDuplicates) {
    constexpr int device_rounds = 10;
    TempDir dir;
    ServerProcess server(dir / "server");
    ASSERT_TRUE(server.start());
    FaultProxy proxy(server.port());
    std::string token = server.enrol("restart-01");
    ASSERT_FALSE(token.empty());
    SyncSettings settings;
    settings.batch_max_entries = 40;
    settings.batch_max_age_ms = 10;
    settings.retry_initial_ms = 20;
    settings.retry_max_ms = 200;
    auto device = make_sync_device(dir / "device", "restart-01", proxy.url(), token, settings);
    ASSERT_TRUE(device->start());
    ASSERT_FALSE(open_inspection(*device).empty());

    int killed_in_flight = 0;
    for (int round = 0; round < device_rounds; ++round) {
        auto written = add_measurements(*device, 300, 4, 8, 30s);
        ASSERT_EQ(written.acknowledged, 300) << "round " << round << ": " << written.first_error;
        // Kill while a batch is with the server: it may commit with the device gone.
        bool busy = false;
        for (int i = 0; i < 3000 && !busy; ++i) {  // at most 3 s
            busy = proxy.in_flight("/batches") > 0;
            if (!busy) std::this_thread::sleep_for(1ms);
        }
        killed_in_flight += busy ? 1 : 0;
        ASSERT_TRUE(device->kill(SIGKILL));
        auto status = device->wait_exit();
        ASSERT_TRUE(status && status->signaled()) << "round " << round;
        ASSERT_TRUE(server_holds_prefix(server, "restart-01", device_chain(*device)))
            << "round " << round;
        ASSERT_TRUE(device->start()) << "round " << round;
    }
    EXPECT_GE(killed_in_flight, device_rounds / 2);
    ASSERT_TRUE(sync_until_drained(*device, 60s)) << json::serialize(sync_status(*device));
    EXPECT_TRUE(delivered_exactly_once(server, *device));
    auto verify = device->ok("verify");
    EXPECT_EQ(verify.at("ok"), true) << json::serialize(verify);
    RecordProperty("killed_in_flight", killed_in_flight);
}

}  // namespace
}  // namespace fieldlog::testing
