// Sync through a fault-injecting proxy: cuts in either direction, stalls, delays, error replies
// with Retry-After, truncated bodies, and replies that lie. Whatever the link does, every record
// arrives exactly once, the device deletes nothing the server did not acknowledge, and an
// interrupted photo upload resumes instead of starting over.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <thread>

#include "fault_proxy.hpp"
#include "fieldlog/digest.hpp"
#include "fieldlog/files.hpp"
#include "sync_harness.hpp"
#include "temp_dir.hpp"

namespace fieldlog::testing {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using Kind = ProxyAction::Kind;
using namespace std::chrono_literals;

// Quick retries, and a short exchange timeout so that stalls resolve in seconds.
SyncSettings fault_settings() {
    SyncSettings s;
    s.batch_max_entries = 100;
    s.batch_max_age_ms = 20;
    s.retry_initial_ms = 50;
    s.retry_max_ms = 300;
    s.probe_interval_ms = 1000;
    s.request_timeout_ms = 2000;
    return s;
}

std::string write_jpeg(const std::filesystem::path& path, std::uint32_t seed, std::size_t size) {
    auto bytes = make_padded_jpeg(seed, size);
    std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    EXPECT_TRUE(write_file_atomically(path, text, 0644));
    return to_hex(sha256(text));
}

// Waits (bounded) until pred holds.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return pred();
}

class SyncFaults : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<ServerProcess>(dir_ / "server");
        ASSERT_TRUE(server_->start());
        token_ = server_->enrol("faulty-01");
        ASSERT_FALSE(token_.empty());
        proxy_ = std::make_unique<FaultProxy>(server_->port());
    }

    void start_device(SyncSettings settings = fault_settings()) {
        device_ = make_sync_device(dir_ / "device", "faulty-01", proxy_->url(), token_, settings);
        ASSERT_TRUE(device_->start());
        ASSERT_FALSE(open_inspection(*device_).empty());
    }

    std::string describe_exchanges() const {
        std::string out;
        auto all = proxy_->exchanges();
        for (const auto& e : all) {
            auto at = std::chrono::duration_cast<std::chrono::milliseconds>(e.started -
                                                                            all.front().started);
            out += "  " + std::to_string(at.count()) + " ms " + e.method + " " +
                   e.target.substr(0, 60) + " " + std::string(kind_name(e.action)) + " up " +
                   std::to_string(e.upstream_bytes) + " down " +
                   std::to_string(e.downstream_bytes) + " status " + std::to_string(e.status) +
                   "\n";
        }
        return out;
    }

    TempDir dir_;
    std::unique_ptr<ServerProcess> server_;
    std::string token_;
    std::unique_ptr<FaultProxy> proxy_;
    std::unique_ptr<DaemonProcess> device_;
};

TEST_F(SyncFaults, BatchesSurviveCutsStallsDelaysErrorRepliesAndTruncatedBodies) {
    const std::vector<ProxyAction> faults{
        ProxyAction::cut_request_after(200),
        ProxyAction::cut_response_after(12),
        ProxyAction::truncate_body_to(4),
        ProxyAction::stall_request(),
        ProxyAction::stall_after_forwarding(),
        ProxyAction::delayed(400ms),
        ProxyAction::answer(500, {}, R"({"error":{"code":"internal","message":"fault"}})"),
        ProxyAction::answer(503, {{"Retry-After", "2"}, {"Content-Type", "application/json"}},
                            R"({"error":{"code":"unavailable","message":"fault"}})"),
        ProxyAction::cut_response_after(0),
        ProxyAction::stall_after_forwarding(),
        ProxyAction::truncate_body_to(0),
        ProxyAction::cut_request_after(0),
    };
    // Each fault hits one batch; the batches between them go through.
    for (const auto& fault : faults) {
        proxy_->add_rule({"POST", "/batches", fault, 1});
        proxy_->add_rule({"POST", "/batches", ProxyAction::forward(), 1});
    }
    ASSERT_NO_FATAL_FAILURE(start_device());
    const auto started = Clock::now();
    auto written = add_measurements(*device_, 1500, 4, 4, 60s);
    ASSERT_EQ(written.acknowledged, 1500) << written.first_error;
    // Once every fault has been used: more records, over an honest link.
    ASSERT_TRUE(eventually([&] { return proxy_->rules_left() == 0; }, 60s))
        << proxy_->rules_left() << " rules left\n"
        << describe_exchanges();
    written = add_measurements(*device_, 300, 2, 8, 30s);
    ASSERT_EQ(written.acknowledged, 300) << written.first_error;
    ASSERT_TRUE(wait_outbox_empty(*device_, 60s)) << json::serialize(sync_status(*device_)) << "\n"
                                                  << describe_exchanges();
    EXPECT_TRUE(delivered_exactly_once(*server_, *device_)) << describe_exchanges();

    // Every fault happened, and the device waited out the Retry-After before it tried again.
    auto log = proxy_->exchanges();
    for (const auto& fault : faults) {
        EXPECT_GE(proxy_->count(fault.kind, "/batches"), 1u) << kind_name(fault.kind);
    }
    for (std::size_t i = 0; i + 1 < log.size(); ++i) {
        if (log[i].action == Kind::reply && log[i].status == 503) {
            EXPECT_GE(log[i + 1].started - log[i].started, 1950ms)
                << "the next request came before Retry-After: 2 had passed";
        }
    }
    auto sync = sync_status(*device_);
    EXPECT_EQ(sync.at("state").as_string(), "idle") << json::serialize(sync);
    EXPECT_EQ(sync.at("parked_entries").as_int64(), 0);
    RecordProperty("seconds",
                   std::to_string(std::chrono::duration<double>(Clock::now() - started).count()));
}

TEST_F(SyncFaults, AnInterruptedPhotoUploadResumesFromTheServersOffset) {
    constexpr std::size_t photo_bytes = 4u << 20;
    SyncSettings settings = fault_settings();
    settings.chunk_bytes = 1u << 20;  // the shipped default
    auto photo = dir_ / "IMG_4MB.jpg";
    std::string sha = write_jpeg(photo, 77, photo_bytes);
    const auto size = static_cast<std::size_t>(std::filesystem::file_size(photo));

    // Four breaks at different places of the upload: a cut 100 KiB into a chunk, a reply cut
    // off after the server stored the chunk, a stall until the exchange times out, and a cut
    // 50 KiB into a (by then narrower) chunk.
    proxy_->add_rule({"PATCH", sha, ProxyAction::forward(), 1});
    proxy_->add_rule({"PATCH", sha, ProxyAction::cut_request_after(100u << 10), 1});
    proxy_->add_rule({"PATCH", sha, ProxyAction::forward(), 1});
    proxy_->add_rule({"PATCH", sha, ProxyAction::cut_response_after(10), 1});
    proxy_->add_rule({"PATCH", sha, ProxyAction::forward(), 2});
    proxy_->add_rule({"PATCH", sha, ProxyAction::stall_request(), 1});
    proxy_->add_rule({"PATCH", sha, ProxyAction::forward(), 2});
    proxy_->add_rule({"PATCH", sha, ProxyAction::cut_request_after(50u << 10), 1});
    ASSERT_NO_FATAL_FAILURE(start_device(settings));
    ASSERT_EQ(add_photo(*device_, photo), sha);
    ASSERT_TRUE(wait_outbox_empty(*device_, 60s)) << json::serialize(sync_status(*device_)) << "\n"
                                                  << describe_exchanges();
    EXPECT_EQ(proxy_->rules_left(), 0u) << describe_exchanges();
    EXPECT_TRUE(blob_matches(*server_, sha, photo));
    EXPECT_TRUE(delivered_exactly_once(*server_, *device_));

    const std::size_t cuts = proxy_->count(Kind::cut_request, sha) +
                             proxy_->count(Kind::cut_response, sha) +
                             proxy_->count(Kind::stall, sha);
    EXPECT_GE(cuts, 4u);
    const std::size_t upstream = proxy_->upstream_bytes_for(sha);
    const double ratio = static_cast<double>(upstream) / static_cast<double>(size);
    EXPECT_LT(ratio, 1.3) << upstream << " bytes went upstream for a " << size << "-byte photo\n"
                          << describe_exchanges();
    RecordProperty("photo_bytes", std::to_string(size));
    RecordProperty("upstream_bytes", std::to_string(upstream));
    RecordProperty("ratio", std::to_string(ratio));
}

// A link that breaks after some 300 KiB, every time: a 1 MiB chunk never gets through whole, so
// an uploader that kept sending chunks of that size would never finish the photo, and the
// records behind it would wait for ever.
TEST_F(SyncFaults, APhotoGoesUpOverALinkThatCannotCarryAWholeChunk) {
    SyncSettings settings = fault_settings();
    settings.chunk_bytes = 1u << 20;  // the shipped default
    auto photo = dir_ / "IMG_3MB.jpg";
    std::string sha = write_jpeg(photo, 303, 3u << 20);
    const auto size = static_cast<std::size_t>(std::filesystem::file_size(photo));
    proxy_->add_rule({"PATCH", sha, ProxyAction::cut_request_after(300u << 10), -1});
    ASSERT_NO_FATAL_FAILURE(start_device(settings));
    auto written = add_measurements(*device_, 100, 2, 4, 30s);
    ASSERT_EQ(written.acknowledged, 100) << written.first_error;
    ASSERT_EQ(add_photo(*device_, photo), sha);
    written = add_measurements(*device_, 100, 2, 4, 30s);
    ASSERT_EQ(written.acknowledged, 100) << written.first_error;
    ASSERT_TRUE(wait_outbox_empty(*device_, 40s)) << json::serialize(sync_status(*device_)) << "\n"
                                                  << describe_exchanges();
    EXPECT_TRUE(blob_matches(*server_, sha, photo));
    EXPECT_TRUE(delivered_exactly_once(*server_, *device_));
    EXPECT_GE(proxy_->count(Kind::cut_request, sha), 1u);
    const std::size_t upstream = proxy_->upstream_bytes_for(sha);
    const double ratio = static_cast<double>(upstream) / static_cast<double>(size);
    EXPECT_LT(ratio, 1.3) << upstream << " bytes went upstream for a " << size << "-byte photo\n"
                          << describe_exchanges();
    RecordProperty("ratio", std::to_string(ratio));
}

// acked_seq in a batch reply's body replaced by f(acked_seq).
ProxyAction rewrite_acked(std::function<std::int64_t(std::int64_t)> f) {
    return ProxyAction::rewrite_response([f](const HttpMessage&, HttpMessage response) {
        boost::system::error_code ec;
        json::value body = json::parse(response.body, ec);
        if (!ec && body.is_object() && body.get_object().contains("acked_seq")) {
            auto& acked = body.get_object()["acked_seq"];
            if (acked.is_int64()) acked = f(acked.get_int64());
            response.body = json::serialize(body);
        }
        return response;
    });
}

TEST_F(SyncFaults, RepliesThatLieNeverCostARecord) {
    auto chain_length = [&] { return static_cast<std::int64_t>(device_chain(*device_).size()); };
    auto stored = [&] {
        return static_cast<std::int64_t>(server_entries(*server_, "faulty-01").size());
    };
    // While every reply lies, nothing may leave the outbox.
    auto outbox_whole = [&] { return pending_entries(*device_) == chain_length(); };

    // 1. Bytes that are not HTTP at all, and 200s whose bodies are not an acknowledgement.
    const std::vector<ProxyAction> garbage{
        ProxyAction::raw_bytes("\x16\x03garbage\r\n\r\n"),
        ProxyAction::raw_bytes("HTTP/1.1 200 OK\r\nContent-Length: 9999\r\n\r\n{\"acked"),
        ProxyAction::answer(200, {{"Content-Type", "application/json"}}, "not json"),
        ProxyAction::answer(200, {{"Content-Type", "application/json"}}, R"({"acked_seq":"all"})"),
        ProxyAction::answer(200, {{"Content-Type", "application/json"}}, R"({"acked_seq":-1})"),
        ProxyAction::answer(200, {{"Content-Type", "application/json"}}, R"({"acked_seq":1e9})"),
        ProxyAction::answer(200, {{"Content-Type", "application/json"}}, R"([{"acked_seq":5}])"),
    };
    for (const auto& g : garbage) proxy_->add_rule({"POST", "/batches", g, 2});
    // Once the rules are used up, still nothing reaches the server until phase 2.
    proxy_->set_default(ProxyAction::raw_bytes("garbage"));
    ASSERT_NO_FATAL_FAILURE(start_device());
    auto written = add_measurements(*device_, 400, 4, 8, 60s);
    ASSERT_EQ(written.acknowledged, 400) << written.first_error;
    ASSERT_TRUE(eventually([&] { return proxy_->rules_left() == 0; }, 30s)) << describe_exchanges();
    EXPECT_TRUE(outbox_whole()) << pending_entries(*device_) << " of " << chain_length();
    EXPECT_EQ(stored(), 0);

    // 2. The server stores the batch, but its acknowledgement comes back beyond what was sent
    // (200 and 409 alike): a protocol error that deletes nothing, so the device sends the same
    // batch again (a replay for the server) rather than going on.
    proxy_->set_default(rewrite_acked([](std::int64_t acked) { return acked + 1000; }));
    ASSERT_TRUE(eventually(
        [&] { return stored() > 0 && proxy_->count(Kind::rewrite, "/batches") >= 4; }, 30s))
        << stored() << " of " << chain_length() << " stored\n"
        << describe_exchanges();
    EXPECT_TRUE(outbox_whole()) << pending_entries(*device_) << " of " << chain_length();
    EXPECT_LT(stored(), chain_length());
    proxy_->set_default(ProxyAction::answer(
        409, {{"Content-Type", "application/json"}},
        R"({"error":{"code":"sequence_gap","message":"lie"},"acked_seq":999999})"));
    const auto lies = proxy_->exchanges().size();
    ASSERT_TRUE(eventually([&] { return proxy_->exchanges().size() >= lies + 3; }, 30s));
    EXPECT_TRUE(outbox_whole()) << pending_entries(*device_) << " of " << chain_length();

    // Honest for a while: the records so far arrive.
    proxy_->set_default(ProxyAction::forward());
    ASSERT_TRUE(wait_outbox_empty(*device_, 60s)) << json::serialize(sync_status(*device_));
    const std::int64_t delivered = chain_length();

    // 3. A photo whose upload offsets are lies: past the end, short of what was sent, and a
    // HEAD that calls an incomplete upload complete; its batch's acknowledgement lies too.
    proxy_->add_rule({"POST", "/batches", rewrite_acked([](std::int64_t a) { return a + 1; }), -1});
    auto photo = dir_ / "IMG_0100.jpg";
    std::string sha = write_jpeg(photo, 100, 1u << 20);
    auto set_header = [](std::string name, std::string value) {
        return ProxyAction::rewrite_response(
            [name, value](const HttpMessage&, HttpMessage response) {
                response.set_header(name, value);
                return response;
            });
    };
    const std::string size = std::to_string(std::filesystem::file_size(photo));
    // The first HEAD calls the upload complete (the batch then meets blob_missing), the second
    // reports an offset past the end; a 204 reports 7 bytes held, a 409 another wrong offset.
    proxy_->add_rule(
        {"HEAD", sha,
         ProxyAction::answer(
             200, {{"Upload-Offset", size}, {"Upload-Length", size}, {"Upload-Complete", "?1"}}),
         1});
    proxy_->add_rule({"HEAD", sha,
                      ProxyAction::answer(200, {{"Upload-Offset", "99999999"},
                                                {"Upload-Length", size},
                                                {"Upload-Complete", "?0"}}),
                      1});
    proxy_->add_rule({"PATCH", sha, set_header("Upload-Offset", "7"), 1});
    proxy_->add_rule({"PATCH", sha, set_header("Upload-Offset", "5000"), 1});
    ASSERT_EQ(add_photo(*device_, photo), sha);
    const auto posted = proxy_->count(Kind::rewrite, "/batches");
    ASSERT_TRUE(eventually(
        [&] {
            return proxy_->rules_left() == 1 &&
                   proxy_->count(Kind::rewrite, "/batches") >= posted + 3;
        },
        60s))
        << json::serialize(sync_status(*device_)) << "\n"
        << describe_exchanges();
    EXPECT_EQ(proxy_->count(Kind::reply, sha), 2u);
    EXPECT_EQ(proxy_->count(Kind::rewrite, sha), 2u);
    // The server's own 409 blob_missing (missing_blobs beside "error") sent the device back to
    // upload the photo the lying HEAD had called complete.
    auto log = proxy_->exchanges();
    EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const ProxyExchange& e) {
        return e.target.ends_with("/batches") && e.status == 409;
    })) << describe_exchanges();
    EXPECT_EQ(pending_entries(*device_), chain_length() - delivered);

    // Honest again: everything arrives, once.
    proxy_->clear_rules();
    ASSERT_TRUE(wait_outbox_empty(*device_, 60s)) << json::serialize(sync_status(*device_)) << "\n"
                                                  << describe_exchanges();
    EXPECT_TRUE(delivered_exactly_once(*server_, *device_));
    EXPECT_TRUE(blob_matches(*server_, sha, photo));
    auto sync = sync_status(*device_);
    EXPECT_EQ(sync.at("state").as_string(), "idle") << json::serialize(sync);
    EXPECT_EQ(sync.at("parked_entries").as_int64(), 0) << json::serialize(sync);
}

}  // namespace
}  // namespace fieldlog::testing
