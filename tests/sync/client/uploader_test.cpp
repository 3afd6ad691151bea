#include "fieldlog/sync/client/uploader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <fstream>

#include "fieldlog/digest.hpp"
#include "fieldlog/files.hpp"
#include "fieldlog/store/evidence.hpp"
#include "fieldlog/sync/client/dock_signal.hpp"
#include "uploader_fixture.hpp"

namespace fieldlog::sync::client::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

Sha256 hash_of(const json::value& hex) {
    Sha256 out{};
    EXPECT_TRUE(from_hex(hex.as_string(), out)) << hex;
    return out;
}

store::ChainEntry chain_entry(const json::object& e) {
    store::ChainEntry c;
    c.seq = e.at("seq").as_int64();
    c.kind = std::string(e.at("kind").as_string());
    c.record_id = std::string(e.at("record_id").as_string());
    c.action = std::string(e.at("action").as_string());
    c.payload_hash = hash_of(e.at("payload_hash"));
    c.prev_hash = hash_of(e.at("prev_hash"));
    c.entry_hash = hash_of(e.at("entry_hash"));
    c.device_time_ms = e.at("device_time_ms").as_int64();
    if (!e.at("gnss_time_ms").is_null()) c.gnss_time_ms = e.at("gnss_time_ms").as_int64();
    return c;
}

std::vector<std::int64_t> seqs_of(const ServerRequest& post) {
    std::vector<std::int64_t> out;
    json::value body = json::parse(post.body);
    for (const auto& e : body.at("entries").as_array()) {
        out.push_back(e.at("seq").as_int64());
    }
    return out;
}

class Uploading : public UploaderTest {
protected:
    bool drained() {
        return run_until(
            [&] { return uploader_->status().state == SyncState::idle && pending_entries() == 0; });
    }
};

TEST_F(Uploading, SendsBatchesInOrderWithChainFieldsAndAVerifiableHead) {
    start_inspection();
    for (int i = 0; i < 5; ++i) add_measurement(70 + i);
    std::int64_t total = pending_entries();
    ASSERT_EQ(total, 6);
    auto config = sync_config();
    config.batch_max_entries = 2;
    make_uploader(config);
    uploader_->start();
    ASSERT_TRUE(drained());

    auto posts = office_->requests("POST");
    ASSERT_EQ(posts.size(), 3u);
    std::int64_t next = 1;
    for (const auto& post : posts) {
        EXPECT_EQ(post.headers.at("content-type"), "application/json");
        EXPECT_EQ(post.headers.at("authorization"), "Bearer " + std::string(device_token));
        for (std::int64_t seq : seqs_of(post)) EXPECT_EQ(seq, next++);
    }
    EXPECT_EQ(json::parse(posts.back().body).at("pending"),
              json::parse(R"({"entries": 0, "bytes": 0})"));
    EXPECT_EQ(json::parse(posts.front().body).at("public_key").as_string(),
              to_hex(store_->public_key()));

    auto entries = office_->entries();
    ASSERT_EQ(entries.size(), 6u);
    Sha256 prev = store::genesis_hash(device_id);
    for (const auto& [seq, e] : entries) {
        store::ChainEntry c = chain_entry(e);
        EXPECT_EQ(c.prev_hash, prev) << "entry " << seq;
        EXPECT_EQ(store::compute_entry_hash(c), c.entry_hash) << "entry " << seq;
        EXPECT_EQ(sha256(std::string_view(e.at("payload").as_string())), c.payload_hash);
        prev = c.entry_hash;
    }
    auto heads = office_->heads();
    ASSERT_EQ(heads.size(), 3u);
    for (const auto& head : heads) {
        store::Signature signature{};
        ASSERT_TRUE(from_hex(head.at("signature").as_string(), signature));
        std::int64_t seq = head.at("seq").as_int64();
        EXPECT_EQ(head.at("entry_hash"), entries.at(seq).at("entry_hash"));
        EXPECT_TRUE(store::verify_signature(
            store_->public_key(),
            store::head_message(device_id, seq, hash_of(head.at("entry_hash"))), signature))
            << "head " << seq;
    }
    EXPECT_EQ(pending_entries(), 0);
    EXPECT_EQ(uploader_->status().acked_seq, 6);
    EXPECT_TRUE(uploader_->status().last_success_ms.has_value());
}

TEST_F(Uploading, RetriesAServerErrorWithBackoff) {
    start_inspection();
    add_measurement();
    auto config = sync_config();
    config.retry_initial = milliseconds(200);
    config.retry_max = milliseconds(400);
    office_->set_script([posts = 0](FakeOffice&, const ServerRequest& r,
                                    int) mutable -> std::optional<ServerResponse> {
        if (r.method == "POST" && posts++ == 0) return error_reply(500, "internal", "disk hiccup");
        return std::nullopt;
    });
    make_uploader(config);
    uploader_->start();
    bool saw_backoff = false;
    std::string error;
    ASSERT_TRUE(run_until([&] {
        SyncStatus s = uploader_->status();
        if (s.state == SyncState::backoff) {
            saw_backoff = true;
            error = s.last_error;
            EXPECT_TRUE(s.next_attempt_ms.has_value());
            EXPECT_EQ(pending_entries(), 2);
        }
        return s.state == SyncState::idle && pending_entries() == 0;
    }));
    EXPECT_TRUE(saw_backoff);
    EXPECT_THAT(error, HasSubstr("HTTP 500 internal: disk hiccup"));
    EXPECT_EQ(office_->requests("POST").size(), 2u);
    EXPECT_EQ(uploader_->status().last_error, "");
}

TEST_F(Uploading, WaitsAtLeastRetryAfter) {
    start_inspection();
    office_->set_script([posts = 0](FakeOffice&, const ServerRequest& r,
                                    int) mutable -> std::optional<ServerResponse> {
        if (r.method == "POST" && posts++ == 0) {
            ServerResponse busy = error_reply(503, "busy", "try later");
            busy.headers.push_back({"Retry-After", "1"});
            return busy;
        }
        return std::nullopt;
    });
    make_uploader();
    uploader_->start();
    ASSERT_TRUE(drained());
    auto posts = office_->requests("POST");
    ASSERT_EQ(posts.size(), 2u);
    EXPECT_GE(posts[1].received - posts[0].received, milliseconds(1000));
}

TEST_F(Uploading, AnAcknowledgementBeyondTheBatchDeletesNothing) {
    start_inspection();
    add_measurement();
    office_->set_script(
        [](FakeOffice&, const ServerRequest& r, int) -> std::optional<ServerResponse> {
            if (r.method == "POST") return json_reply(200, json::object{{"acked_seq", 999}});
            return std::nullopt;
        });
    make_uploader();
    uploader_->start();
    ASSERT_TRUE(run_until([&] {
        return uploader_->status().last_error.find("protocol error") != std::string::npos;
    }));
    EXPECT_THAT(uploader_->status().last_error, HasSubstr("acknowledged entry 999 but the last "
                                                          "entry sent was 2; nothing was deleted"));
    EXPECT_EQ(pending_entries(), 2);
}

TEST_F(Uploading, GarbageRepliesDeleteNothing) {
    start_inspection();
    add_measurement();
    static const std::vector<ServerResponse> garbage{
        {200, {}, "<html>gateway</html>", false},
        {200, {}, R"({"acked_seq": "2"})", false},
        {200, {}, R"({"acked_seq": 1.5})", false},
        {200, {}, R"({"acked_seq": -1})", false},
        {409, {}, R"({"error": 5})", false},
        {400, {}, "not json", false},
        {422, {}, R"({"error": {"message": "no code"}})", false},
        {409, {}, R"({"error": {"code": "sequence_gap", "acked_seq": "x"}})", false},
    };
    office_->set_script([posts = std::size_t{0}](FakeOffice&, const ServerRequest& r,
                                                 int) mutable -> std::optional<ServerResponse> {
        if (r.method == "POST" && posts < garbage.size()) return garbage[posts++];
        return std::nullopt;
    });
    make_uploader();
    uploader_->start();
    ASSERT_TRUE(run_until([&] { return office_->requests("POST").size() >= garbage.size(); }));
    EXPECT_EQ(parked_rows(), 0);
    // Once the server talks sense again, everything is still there to deliver.
    ASSERT_TRUE(drained());
    EXPECT_EQ(office_->entries().size(), 2u);
    EXPECT_EQ(parked_rows(), 0);
}

TEST_F(Uploading, ResumesAfterTheAckedSeqOfASequenceGap) {
    start_inspection();
    for (int i = 0; i < 4; ++i) add_measurement(60 + i);
    office_->hold_entries_up_to(3);
    office_->set_script([posts = 0](FakeOffice& office, const ServerRequest& r,
                                    int) mutable -> std::optional<ServerResponse> {
        if (r.method == "POST" && posts++ == 0) {
            return error_reply(409, "sequence_gap", "first new entry must be 4", office.acked);
        }
        return std::nullopt;
    });
    make_uploader();
    uploader_->start();
    ASSERT_TRUE(drained());
    auto posts = office_->requests("POST");
    ASSERT_EQ(posts.size(), 2u);
    EXPECT_EQ(seqs_of(posts[0]).front(), 1);
    EXPECT_EQ(seqs_of(posts[1]), (std::vector<std::int64_t>{4, 5}));
    EXPECT_EQ(office_->acked_seq(), 5);
}

TEST_F(Uploading, UploadsAPhotoInChunksBeforeTheBatchThatHoldsItsRecord) {
    start_inspection();
    std::string sha = add_photo();
    auto bytes = read_file(dir_ / "IMG_1.jpg", 1 << 20);
    ASSERT_TRUE(bytes);
    ASSERT_GT(bytes->size(), 3 * chunk) << "the test photo must take several chunks";
    make_uploader();
    uploader_->start();
    ASSERT_TRUE(drained());

    auto log = office_->requests();
    std::size_t first_post = log.size();
    std::vector<std::uint64_t> offsets;
    for (std::size_t i = 0; i < log.size(); ++i) {
        if (log[i].method == "POST" && first_post == log.size()) first_post = i;
        if (log[i].method == "PATCH") {
            EXPECT_LT(i, first_post) << "a chunk went after the batch";
            EXPECT_EQ(log[i].target, "/v1/devices/test-device/blobs/" + sha);
            EXPECT_EQ(log[i].headers.at("content-type"), "application/offset+octet-stream");
            EXPECT_EQ(log[i].headers.at("upload-length"), std::to_string(bytes->size()));
            EXPECT_LE(log[i].body.size(), chunk);
            offsets.push_back(std::stoull(log[i].headers.at("upload-offset")));
        }
    }
    ASSERT_EQ(log.front().method, "HEAD");
    EXPECT_EQ(offsets.size(), (bytes->size() + chunk - 1) / chunk);
    for (std::size_t i = 0; i < offsets.size(); ++i) EXPECT_EQ(offsets[i], i * chunk);
    EXPECT_EQ(office_->blob(sha), *bytes);
    EXPECT_EQ(office_->requests("POST").size(), 1u);
}

TEST_F(Uploading, ResumesAPhotoFromTheServersOffsetAfterACut) {
    start_inspection();
    std::string sha = add_photo();
    auto bytes = read_file(dir_ / "IMG_1.jpg", 1 << 20);
    ASSERT_TRUE(bytes);
    ASSERT_GT(bytes->size(), 4 * chunk);
    const std::string cut_at = std::to_string(2 * chunk);
    office_->set_script([sha, cut_at, cuts = 0](FakeOffice& office, const ServerRequest& r,
                                                int) mutable -> std::optional<ServerResponse> {
        // The link drops during the third chunk, after the server kept half of it. libcurl
        // resends once by itself on a fresh connection when a kept one dies; that one is cut too.
        if (r.method == "PATCH" && r.headers.at("upload-offset") == cut_at && cuts < 2) {
            if (cuts++ == 0) office.partial[sha] += r.body.substr(0, r.body.size() / 2);
            return ServerResponse{0, {}, {}, true};
        }
        return std::nullopt;
    });
    make_uploader();
    uploader_->start();
    ASSERT_TRUE(drained());

    std::vector<std::string> trail;
    for (const auto& r : office_->requests()) {
        if (r.method == "PATCH") trail.push_back("PATCH " + r.headers.at("upload-offset"));
        if (r.method == "HEAD") trail.push_back("HEAD");
    }
    auto last_cut = std::find(trail.rbegin(), trail.rend(), "PATCH " + cut_at);
    ASSERT_NE(last_cut, trail.rend());
    std::vector<std::string> after(last_cut.base(), trail.end());
    ASSERT_GE(after.size(), 2u) << ::testing::PrintToString(trail);
    // Asked where the server is, and went on from there, not from 0.
    EXPECT_EQ(after[0], "HEAD") << ::testing::PrintToString(trail);
    EXPECT_EQ(after[1], "PATCH " + std::to_string(2 * chunk + chunk / 2))
        << ::testing::PrintToString(trail);
    EXPECT_EQ(std::count(after.begin(), after.end(), "PATCH 0"), 0);
    EXPECT_EQ(office_->blob(sha), *bytes);
}

TEST_F(Uploading, RestartsAPhotoFromZeroWhenTheServersOffsetIsImpossible) {
    start_inspection();
    std::string sha = add_photo();
    auto bytes = read_file(dir_ / "IMG_1.jpg", 1 << 20);
    ASSERT_TRUE(bytes);
    office_->set_script([&bytes, heads = 0](FakeOffice&, const ServerRequest& r,
                                            int) mutable -> std::optional<ServerResponse> {
        if (r.method == "HEAD" && heads++ == 0) {
            return ServerResponse{
                200,
                {{"Upload-Offset", std::to_string(bytes->size() + 100)}, {"Upload-Complete", "?0"}},
                "",
                false};
        }
        return std::nullopt;
    });
    make_uploader();
    uploader_->start();
    ASSERT_TRUE(drained());
    auto patches = office_->requests("PATCH");
    ASSERT_FALSE(patches.empty());
    EXPECT_EQ(patches.front().headers.at("upload-offset"), "0");
    EXPECT_EQ(office_->blob(sha), *bytes);
}

TEST_F(Uploading, UploadsPhotosTheServerReportsMissingThenSendsTheBatchAgain) {
    start_inspection();
    std::string sha = add_photo();
    // The first HEAD claims the photo is complete; the batch then meets blob_missing.
    office_->set_script([heads = 0](FakeOffice&, const ServerRequest& r,
                                    int) mutable -> std::optional<ServerResponse> {
        if (r.method == "HEAD" && heads++ == 0) {
            return ServerResponse{200, {{"Upload-Complete", "?1"}}, "", false};
        }
        return std::nullopt;
    });
    make_uploader();
    uploader_->start();
    ASSERT_TRUE(drained());
    EXPECT_EQ(office_->requests("POST").size(), 2u);
    EXPECT_TRUE(office_->blob(sha).has_value());
}

TEST_F(Uploading, ParksAnEntryRefusedForGoodAndDeliversTheOnesAfterIt) {
    start_inspection();
    for (int i = 0; i < 4; ++i) add_measurement(50 + i);
    office_->set_script(
        [](FakeOffice&, const ServerRequest& r, int) -> std::optional<ServerResponse> {
            if (r.method != "POST") return std::nullopt;
            json::value body = json::parse(r.body);
            const json::array& entries = body.at("entries").as_array();
            for (std::size_t i = 0; i < entries.size(); ++i) {
                const json::object& e = entries[i].as_object();
                if (e.at("seq").as_int64() == 3 && e.at("payload").is_string()) {
                    return error_reply(400, "bad_payload",
                                       "entries[" + std::to_string(i) +
                                           "].payload: entry 3: the payload is not a JSON object");
                }
            }
            return std::nullopt;
        });
    make_uploader();
    uploader_->start();
    ASSERT_TRUE(drained());

    EXPECT_EQ(parked_rows(), 1);
    EXPECT_EQ(uploader_->status().parked_entries, 1);
    auto entries = office_->entries();
    ASSERT_EQ(entries.size(), 5u);
    EXPECT_TRUE(entries.at(3).at("payload").is_null());
    EXPECT_EQ(entries.at(3).at("withheld").at("code"), "bad_payload");
    EXPECT_TRUE(entries.at(4).at("payload").is_string());
    EXPECT_TRUE(entries.at(5).at("payload").is_string());
    ASSERT_EQ(device_log_.size(), 1u);
    EXPECT_THAT(device_log_[0], HasSubstr("warning sync_parked: entry 3 (measurement "));
    EXPECT_THAT(device_log_[0], HasSubstr("HTTP 400 bad_payload"));
}

TEST_F(Uploading, StopsOnUnauthorizedUntilTheOperatorSyncs) {
    start_inspection();
    { std::ofstream(dir_ / "device.token") << "revoked-token\n"; }
    make_uploader();
    uploader_->start();
    ASSERT_TRUE(run_until([&] { return uploader_->status().state == SyncState::stopped; }));
    EXPECT_THAT(uploader_->status().last_error, HasSubstr("HTTP 401 unauthorized"));
    EXPECT_THAT(uploader_->status().last_error, HasSubstr("sync.token_file"));
    ASSERT_EQ(device_log_.size(), 1u);
    EXPECT_THAT(device_log_[0], HasSubstr("error sync_stopped: syncing stopped: the server "
                                          "refused this device (HTTP 401"));
    EXPECT_EQ(pending_entries(), 1);

    // Nothing but the operator restarts it: a network change is ignored.
    std::size_t posts = office_->requests("POST").size();
    uploader_->notify_network_changed();
    uploader_->notify_written();
    run_until([] { return false; }, milliseconds(200));
    EXPECT_EQ(office_->requests("POST").size(), posts);
    EXPECT_EQ(uploader_->status().state, SyncState::stopped);

    { std::ofstream(dir_ / "device.token") << device_token << "\n"; }
    auto answer = sync_and_wait();
    ASSERT_TRUE(answer) << answer.error().to_string();
    EXPECT_EQ(pending_entries(), 0);
}

TEST_F(Uploading, RefusesATokenFileOthersCanRead) {
    start_inspection();
    ::chmod((dir_ / "device.token").c_str(), 0644);
    make_uploader();
    uploader_->start();
    EXPECT_EQ(uploader_->status().state, SyncState::stopped);
    EXPECT_THAT(uploader_->status().last_error, HasSubstr("has mode 0644"));
    EXPECT_THAT(uploader_->status().last_error, HasSubstr("chmod 600"));
    EXPECT_TRUE(office_->requests().empty());
}

TEST_F(Uploading, SyncWithWaitAnswersOnceTheOutboxIsDrained) {
    make_uploader();
    uploader_->start();
    ASSERT_TRUE(run_until([&] { return uploader_->status().state == SyncState::idle; }));
    start_inspection();
    for (int i = 0; i < 3; ++i) add_measurement(80 + i);
    std::optional<Result<json::value>> answer;
    std::int64_t pending_at_answer = -1;
    uploader_->request_sync(true, [&](Result<json::value> r) {
        pending_at_answer = pending_entries();
        answer = std::move(r);
    });
    ASSERT_TRUE(run_until([&] { return answer.has_value(); }));
    ASSERT_TRUE(*answer) << answer->error().to_string();
    EXPECT_EQ((*answer)->at("drained"), true);
    EXPECT_EQ((*answer)->at("sync").at("state"), "idle");
    EXPECT_EQ(pending_at_answer, 0);
    EXPECT_EQ(office_->acked_seq(), 4);
}

TEST_F(Uploading, SyncWithWaitReportsAFailedAttempt) {
    start_inspection();
    office_->set_script(
        [](FakeOffice&, const ServerRequest& r, int) -> std::optional<ServerResponse> {
            if (r.method == "POST") return error_reply(502, "bad_gateway", "upstream down");
            return std::nullopt;
        });
    auto config = sync_config();
    config.retry_initial = milliseconds(60'000);
    config.retry_max = milliseconds(60'000);
    make_uploader(config);
    auto failed = sync_and_wait();
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code(), Errc::unavailable);
    EXPECT_THAT(failed.error().message(), HasSubstr("HTTP 502 bad_gateway: upstream down"));
    EXPECT_EQ(pending_entries(), 1);
}

TEST_F(Uploading, AWriteGoesOutOnceTheBatchAgeIsReached) {
    auto config = sync_config();
    config.batch_max_age = milliseconds(300);
    make_uploader(config);
    uploader_->start();
    ASSERT_TRUE(run_until([&] { return uploader_->status().state == SyncState::idle; }));
    start_inspection();
    auto written = std::chrono::steady_clock::now();
    uploader_->notify_written();
    ASSERT_TRUE(run_until([&] { return office_->acked_seq() == 1; }));
    EXPECT_GE(office_->requests("POST").front().received - written, milliseconds(300));
}

TEST_F(Uploading, AFullBatchGoesOutWithoutWaitingForItsAge) {
    auto config = sync_config();
    config.batch_max_age = milliseconds(600'000);
    config.batch_max_entries = 3;
    make_uploader(config);
    uploader_->start();
    ASSERT_TRUE(run_until([&] { return uploader_->status().state == SyncState::idle; }));
    start_inspection();
    uploader_->notify_written();
    add_measurement();
    uploader_->notify_written();
    run_until([] { return false; }, milliseconds(100));
    EXPECT_TRUE(office_->requests("POST").empty()) << "two entries are not a full batch";
    add_measurement();
    uploader_->notify_written();
    ASSERT_TRUE(run_until([&] { return office_->acked_seq() == 3; }));
}

TEST_F(Uploading, DockingCutsABackoffShort) {
    start_inspection();
    auto config = sync_config();
    config.retry_initial = milliseconds(600'000);
    config.retry_max = milliseconds(600'000);
    office_->set_script([posts = 0](FakeOffice&, const ServerRequest& r,
                                    int) mutable -> std::optional<ServerResponse> {
        if (r.method == "POST" && posts++ == 0) {
            ServerResponse busy = error_reply(503, "busy", "try later");
            busy.headers.push_back({"Retry-After", "600"});
            return busy;
        }
        return std::nullopt;
    });
    make_uploader(config);
    ManualDockSignal dock;
    dock.watch([&] { uploader_->notify_docked(); });
    uploader_->start();
    ASSERT_TRUE(run_until([&] { return uploader_->status().state == SyncState::backoff; }));
    dock.notify_docked();
    ASSERT_TRUE(drained());
}

TEST_F(Uploading, KeepsOneConnectionForManyRequests) {
    start_inspection();
    for (int i = 0; i < 5; ++i) add_measurement(40 + i);
    auto config = sync_config();
    config.batch_max_entries = 1;
    make_uploader(config);
    uploader_->start();
    ASSERT_TRUE(drained());
    EXPECT_EQ(office_->requests("POST").size(), 6u);
    EXPECT_EQ(office_->connections_accepted(), 1);
}

TEST_F(Uploading, LeavesNothingOnTheLoopOnceStopped) {
    // fieldlogd's loop returns on SIGTERM only if nothing of the uploader (a timer, a kept
    // connection's socket wait) is left on it.
    start_inspection();
    boost::asio::io_context loop;
    UploaderOptions options;
    options.config = sync_config();
    auto made = Uploader::create(loop, *store_, std::move(options));
    ASSERT_TRUE(made);
    auto uploader = std::move(*made);
    uploader->start();
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (office_->acked_seq() < 1 && std::chrono::steady_clock::now() < until) {
        loop.restart();  // the loop runs dry while the store thread works
        loop.run_for(milliseconds(5));
    }
    ASSERT_EQ(office_->acked_seq(), 1);
    uploader->notify_written();  // arms the batch-age timer
    loop.restart();
    loop.run_for(milliseconds(5));
    uploader->stop();
    // As in fieldlogd: the store finishes its queued jobs while their loop still exists.
    store_->close();
    loop.restart();
    loop.run_for(std::chrono::seconds(5));
    EXPECT_TRUE(loop.stopped());
}

TEST_F(Uploading, StatusJsonHasTheProtocolFields) {
    SyncStatus s;
    s.state = SyncState::backoff;
    s.last_error = "HTTP 503";
    s.next_attempt_ms = 1234;
    EXPECT_EQ(json::value(s.to_json()),
              json::parse(R"({"enabled": true, "state": "backoff", "last_success_ms": null,
                              "last_error": "HTTP 503", "next_attempt_ms": 1234,
                              "attempts": 0})"));
}

}  // namespace
}  // namespace fieldlog::sync::client::testing
