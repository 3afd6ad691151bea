// Crash test for design invariants 1, 2 and 5: the daemon is SIGKILLed again and again while
// several clients write, and after every kill each acknowledged write is still there, the
// database is intact, and the evidence chain and outbox have neither gaps nor repeats.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "daemon_process.hpp"
#include "fieldlog/store/database.hpp"
#include "temp_dir.hpp"

namespace fieldlog::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr int rounds = 50;
constexpr int writers = 4;
// Bounds each writer; a round normally ends by the kill long before.
constexpr int max_writes_per_writer = 90;

struct Acknowledged {
    std::vector<std::string> measurement_ids;
    std::vector<std::string> case_numbers;
    std::vector<std::int64_t> batch_numbers;
    int sent = 0;
    std::vector<std::string> unexpected;  // error replies: every write here is valid
    std::size_t count() const {
        return measurement_ids.size() + case_numbers.size() + batch_numbers.size();
    }
};

// One client: a stream of writes until the daemon goes away; records each "saved" reply.
void write_until_killed(const std::filesystem::path& socket, int round, int writer,
                        std::atomic<bool>& go, Acknowledged& out) {
    auto client = ControlClient::connect(socket);
    while (!go.load()) {
        std::this_thread::yield();
    }
    if (!client) {
        return;
    }
    for (int k = 0; k < max_writes_per_writer; ++k) {
        json::object request;
        std::string case_number;
        // Unique across rounds and writers; document batch numbers stay within 1..100000.
        const std::int64_t batch = 1 + round * 400 + writer * 100 + k;
        switch (k % 3) {
            case 0:
                request = {{"op", "measurement.add"},
                           {"args",
                            {{"parameter", "COD"},
                             {"value", 20 + (k % 50)},
                             {"unit", "mg/L"},
                             {"sampling_point", "outfall " + std::to_string(writer)}}}};
                break;
            case 1:
                case_number = "R" + std::to_string(round) + "-W" + std::to_string(writer) + "-" +
                              std::to_string(k);
                request = {{"op", "complaint.add"},
                           {"args",
                            {{"case_number", case_number},
                             {"batch_number", round + 1},
                             {"summary", "odour complaint near the outfall"}}}};
                break;
            default:
                request = {{"op", "document.add"},
                           {"args",
                            {{"batch_number", batch},
                             {"items", 3},
                             {"documents", 7},
                             {"topics", json::array{"permits", "monitoring records"}}}}};
                break;
        }
        ++out.sent;
        auto reply = client->request(request);
        if (!reply) {
            return;  // killed: this write may or may not have committed
        }
        const json::object* obj = reply->if_object();
        if (obj == nullptr || !obj->contains("ok") || !obj->at("ok").is_bool() ||
            !obj->at("ok").get_bool()) {
            out.unexpected.push_back(json::serialize(*reply));
            continue;
        }
        const json::object& result = obj->at("result").as_object();
        switch (k % 3) {
            case 0:
                out.measurement_ids.emplace_back(result.at("measurement").at("id").as_string());
                break;
            case 1:
                out.case_numbers.push_back(case_number);
                break;
            default:
                out.batch_numbers.push_back(batch);
                break;
        }
    }
}

// Runs a query with one integer or text result per row.
std::vector<std::int64_t> int_column(store::Database& db, std::string_view sql) {
    std::vector<std::int64_t> values;
    auto stmt = db.prepare(sql);
    EXPECT_TRUE(stmt) << (stmt ? "" : stmt.error().to_string());
    if (!stmt) return values;
    for (;;) {
        auto row = (*stmt)->step();
        EXPECT_TRUE(row) << sql << ": " << (row ? "" : row.error().to_string());
        if (!row || !*row) break;
        values.push_back((*stmt)->int64(0));
    }
    (*stmt)->reset();
    return values;
}

std::vector<std::string> text_column(store::Database& db, std::string_view sql) {
    std::vector<std::string> values;
    auto stmt = db.prepare(sql);
    EXPECT_TRUE(stmt) << (stmt ? "" : stmt.error().to_string());
    if (!stmt) return values;
    for (;;) {
        auto row = (*stmt)->step();
        EXPECT_TRUE(row) << sql << ": " << (row ? "" : row.error().to_string());
        if (!row || !*row) break;
        values.push_back((*stmt)->text(0));
    }
    (*stmt)->reset();
    return values;
}

template <class T>
std::vector<T> missing_from(const std::vector<T>& wanted, std::vector<T> stored) {
    std::sort(stored.begin(), stored.end());
    std::vector<T> missing;
    for (const T& value : wanted) {
        if (!std::binary_search(stored.begin(), stored.end(), value)) missing.push_back(value);
    }
    return missing;
}

// Reads the database the killed daemon left, read-only, as it lies on disk (no checkpoint).
// Returns the chain length.
std::int64_t check_database(const std::filesystem::path& db_path, const Acknowledged& acked) {
    auto db = store::Database::open(db_path, store::Database::Mode::read_only);
    EXPECT_TRUE(db) << db.error().to_string();
    if (!db) return -1;

    auto integrity = text_column(*db, "PRAGMA integrity_check");
    EXPECT_EQ(integrity, std::vector<std::string>{"ok"});

    // The chain runs 1..N: no gap, no repeat (the seq column is the key, so a repeat would
    // show as a gap), and the signed head is its last entry.
    auto seqs = int_column(*db, "SELECT seq FROM evidence_chain ORDER BY seq");
    for (std::size_t i = 0; i < seqs.size(); ++i) {
        if (seqs[i] != static_cast<std::int64_t>(i) + 1) {
            ADD_FAILURE() << "evidence chain breaks at position " << i + 1 << ": seq " << seqs[i];
            break;
        }
    }
    auto head = int_column(*db, "SELECT seq FROM chain_head");
    EXPECT_EQ(head, std::vector<std::int64_t>{static_cast<std::int64_t>(seqs.size())});
    // Every outbox entry is one of the chain's, and (nothing syncs here) every entry is queued.
    auto stray = int_column(
        *db, "SELECT COUNT(*) FROM outbox WHERE seq NOT IN (SELECT seq FROM evidence_chain)");
    EXPECT_EQ(stray, std::vector<std::int64_t>{0});
    auto outbox = int_column(*db, "SELECT COUNT(*) FROM outbox");
    EXPECT_EQ(outbox, std::vector<std::int64_t>{static_cast<std::int64_t>(seqs.size())});

    // Nothing acknowledged is lost, and each record has its chain entry.
    auto missing_measurements =
        missing_from(acked.measurement_ids, text_column(*db, "SELECT id FROM measurements"));
    EXPECT_TRUE(missing_measurements.empty())
        << missing_measurements.size() << " acknowledged measurements lost, first "
        << missing_measurements.front();
    auto missing_complaints =
        missing_from(acked.case_numbers, text_column(*db, "SELECT case_number FROM complaints"));
    EXPECT_TRUE(missing_complaints.empty())
        << missing_complaints.size() << " acknowledged complaints lost, first "
        << missing_complaints.front();
    auto missing_batches = missing_from(
        acked.batch_numbers, int_column(*db, "SELECT batch_number FROM document_batches"));
    EXPECT_TRUE(missing_batches.empty())
        << missing_batches.size() << " acknowledged document batches lost, first "
        << missing_batches.front();
    auto unchained = int_column(*db,
                                "SELECT COUNT(*) FROM measurements WHERE id NOT IN (SELECT "
                                "record_id FROM evidence_chain WHERE kind = 'measurement')");
    EXPECT_EQ(unchained, std::vector<std::int64_t>{0});
    return static_cast<std::int64_t>(seqs.size());
}

json::object verify_and_status(const DaemonProcess& daemon) {
    auto verified = daemon.ok("verify");
    EXPECT_TRUE(!verified.empty() && verified.at("ok").as_bool()) << json::value(verified);
    return daemon.ok("status");
}

TEST(CrashTest, AcknowledgedWritesSurviveSigkill) {
    TempDir dir;
    DaemonProcess daemon(dir.path(), default_daemon_config(dir.path()));
    const auto db_path = daemon.config().data_dir / "fieldlog.db";
    const auto started = std::chrono::steady_clock::now();

    Acknowledged all;  // every write acknowledged in any round so far
    std::int64_t chain_length = 0;
    for (int round = 0; round < rounds; ++round) {
        // Reproducible: the round number alone picks the kill time.
        std::mt19937 rng(static_cast<std::mt19937::result_type>(round));
        const auto kill_after =
            std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 300)(rng));
        SCOPED_TRACE("round " + std::to_string(round) + " (seed " + std::to_string(round) +
                     ", kill after " + std::to_string(kill_after.count()) + " ms)");

        ASSERT_TRUE(daemon.start());
        // What the previous kill left verifies, and the sequence carries on from it.
        auto status = verify_and_status(daemon);
        ASSERT_FALSE(status.empty());
        EXPECT_GE(status.at("outbox").at("head_seq").as_int64(), chain_length);
        if (status.at("open_inspection").is_null()) {
            ASSERT_FALSE(daemon
                             .ok("inspection.start", {{"site_id", "wwtp-east"},
                                                      {"kind", "wastewater_discharge"},
                                                      {"inspectors", json::array{"Li Wei"}}})
                             .empty());
        }

        std::atomic<bool> go{false};
        std::vector<Acknowledged> acked(writers);
        std::vector<std::thread> threads;
        for (int w = 0; w < writers; ++w) {
            threads.emplace_back(write_until_killed, daemon.config().socket, round, w, std::ref(go),
                                 std::ref(acked[static_cast<std::size_t>(w)]));
        }
        go = true;
        std::this_thread::sleep_for(kill_after);
        const bool killed = daemon.kill(SIGKILL);
        auto exit = daemon.wait_exit();
        for (auto& t : threads) t.join();  // each ends with the connection, or its write budget
        ASSERT_TRUE(killed);
        ASSERT_TRUE(exit) << "fieldlogd survived SIGKILL";
        EXPECT_TRUE(exit->signaled() && exit->signal() == SIGKILL)
            << exit->describe() << "; output:\n"
            << daemon.output();

        int sent = 0;
        std::size_t round_acked = 0;
        for (const auto& a : acked) {
            for (const auto& u : a.unexpected)
                ADD_FAILURE() << "error reply to a valid write: " << u;
            sent += a.sent;
            round_acked += a.count();
            all.measurement_ids.insert(all.measurement_ids.end(), a.measurement_ids.begin(),
                                       a.measurement_ids.end());
            all.case_numbers.insert(all.case_numbers.end(), a.case_numbers.begin(),
                                    a.case_numbers.end());
            all.batch_numbers.insert(all.batch_numbers.end(), a.batch_numbers.begin(),
                                     a.batch_numbers.end());
        }
        std::int64_t length = check_database(db_path, all);
        // Each acknowledged write added at least one chain entry.
        EXPECT_GE(length, chain_length + static_cast<std::int64_t>(round_acked));
        chain_length = length;
        std::cout << "[ crash    ] round " << round << " seed " << round << ": killed after "
                  << kill_after.count() << " ms, " << round_acked << " of " << sent
                  << " writes acknowledged, chain " << chain_length << "\n";
        if (::testing::Test::HasFailure()) {
            FAIL() << "stopping at the first failing round; daemon output:\n" << daemon.output();
        }
    }

    // A last restart on what the last kill left.
    ASSERT_TRUE(daemon.start());
    auto status = verify_and_status(daemon);
    ASSERT_FALSE(status.empty());
    // A write killed before its reply may have committed too, so stored >= acknowledged.
    EXPECT_GE(status.at("counts").at("measurements").as_int64(),
              static_cast<std::int64_t>(all.measurement_ids.size()));
    EXPECT_GE(status.at("counts").at("complaints").as_int64(),
              static_cast<std::int64_t>(all.case_numbers.size()));
    std::cout << "[ crash    ] " << rounds << " rounds, " << all.count() << " acknowledged writes, "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count()
              << " ms\n";
}

}  // namespace
}  // namespace fieldlog::testing
