// The control protocol's side of syncing: the `sync` operation and the "sync" object of
// `status`, through the inspection service, with a stand-in uploader and with the real one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <future>
#include <mutex>

#include "fieldlog/domain/service.hpp"
#include "uploader_fixture.hpp"

namespace fieldlog::sync::client::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

class RecordingSync final : public domain::SyncControl {
public:
    void written() override { ++writes; }
    void sync(bool wait, std::function<void(Result<json::value>)> done) override {
        std::lock_guard lock(mutex);
        waits.push_back(wait);
        done(json::value(json::object{{"started", true}}));
    }
    json::object status() const override {
        return json::object{{"enabled", true},
                            {"state", "backoff"},
                            {"last_success_ms", 5},
                            {"last_error", "HTTP 503"},
                            {"next_attempt_ms", 9}};
    }

    std::atomic<int> writes{0};
    std::mutex mutex;
    std::vector<bool> waits;
};

// The daemon's adapter, as the daemon wires it.
class UploaderControl final : public domain::SyncControl {
public:
    explicit UploaderControl(Uploader& uploader) : uploader_(uploader) {}
    void written() override { uploader_.notify_written(); }
    void sync(bool wait, std::function<void(Result<json::value>)> done) override {
        uploader_.request_sync(wait, std::move(done));
    }
    json::object status() const override { return uploader_.status().to_json(); }

private:
    Uploader& uploader_;
};

class SyncOperation : public UploaderTest {
protected:
    // A service whose SyncControl is sync (or none).
    void use_service_with(std::shared_ptr<domain::SyncControl> sync) {
        auto reference = service_->reference();
        domain::ServiceOptions options;
        options.sync = std::move(sync);
        service_ = std::make_unique<domain::InspectionService>(*store_, reference, options);
    }

    Result<json::value> run(std::string_view op, std::string_view args = "{}") {
        return service_->execute_sync(op, json::parse(args).as_object());
    }
};

TEST_F(SyncOperation, IsRefusedWhenSyncIsDisabled) {
    auto result = run("sync");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), Errc::conflict);
    EXPECT_THAT(result.error().message(), HasSubstr("sync is disabled"));
}

TEST_F(SyncOperation, ChecksItsArguments) {
    use_service_with(std::make_shared<RecordingSync>());
    auto bad_type = run("sync", R"({"wait": "yes"})");
    ASSERT_FALSE(bad_type);
    EXPECT_EQ(bad_type.error().code(), Errc::invalid_argument);
    auto unknown = run("sync", R"({"force": true})");
    ASSERT_FALSE(unknown);
    EXPECT_THAT(unknown.error().message(), HasSubstr("force"));
}

TEST_F(SyncOperation, ForwardsWaitToTheUploader) {
    auto sync = std::make_shared<RecordingSync>();
    use_service_with(sync);
    ASSERT_TRUE(run("sync"));
    ASSERT_TRUE(run("sync", R"({"wait": true})"));
    EXPECT_EQ(sync->waits, (std::vector<bool>{false, true}));
}

TEST_F(SyncOperation, EveryCommittedWriteIsATriggerAndARefusedOneIsNot) {
    auto sync = std::make_shared<RecordingSync>();
    use_service_with(sync);
    start_inspection();
    EXPECT_EQ(sync->writes, 1);
    auto refused = run("measurement.add", R"({"parameter": "COD", "value": -3, "unit": "mg/L"})");
    EXPECT_FALSE(refused);
    ASSERT_TRUE(run("site.list"));
    EXPECT_EQ(sync->writes, 1);
}

TEST_F(SyncOperation, StatusCarriesTheSyncFields) {
    use_service_with(std::make_shared<RecordingSync>());
    start_inspection();
    auto status = run("status");
    ASSERT_TRUE(status) << status.error().to_string();
    const json::object& sync = status->at("sync").as_object();
    EXPECT_EQ(sync.at("enabled"), true);
    EXPECT_EQ(sync.at("state"), "backoff");
    EXPECT_EQ(sync.at("pending_entries"), 1);
    EXPECT_GT(sync.at("pending_bytes").as_int64(), 0);
    EXPECT_EQ(sync.at("parked_entries"), 0);
    EXPECT_EQ(sync.at("last_success_ms"), 5);
    EXPECT_EQ(sync.at("last_error"), "HTTP 503");
    EXPECT_EQ(sync.at("next_attempt_ms"), 9);
}

TEST_F(SyncOperation, StatusSaysDisabledWithoutAnUploader) {
    auto status = run("status");
    ASSERT_TRUE(status);
    EXPECT_EQ(status->at("sync"),
              json::parse(R"({"enabled": false, "state": "stopped", "last_success_ms": null,
                              "last_error": null, "next_attempt_ms": null,
                              "pending_entries": 0, "pending_bytes": 0, "parked_entries": 0})"));
}

TEST_F(SyncOperation, WithWaitRepliesAfterTheUploaderDrainedTheOutbox) {
    make_uploader();
    use_service_with(std::make_shared<UploaderControl>(*uploader_));
    uploader_->start();
    start_inspection();
    for (int i = 0; i < 3; ++i) add_measurement(90 + i);

    std::optional<Result<json::value>> reply;
    service_->execute("sync", json::parse(R"({"wait": true})").as_object(),
                      [&](Result<json::value> r) { reply = std::move(r); });
    ASSERT_TRUE(run_until([&] { return reply.has_value(); }));
    ASSERT_TRUE(*reply) << reply->error().to_string();
    EXPECT_EQ((*reply)->at("drained"), true);
    EXPECT_EQ(pending_entries(), 0);
    EXPECT_EQ(office_->acked_seq(), 4);

    // status is answered on the store thread while the loop is not running: the uploader's
    // fields come from its snapshot.
    auto status = run("status");
    ASSERT_TRUE(status);
    EXPECT_EQ(status->at("sync").at("state"), "idle");
    EXPECT_EQ(status->at("sync").at("pending_entries"), 0);
    EXPECT_TRUE(status->at("sync").at("last_success_ms").is_int64());
}

TEST_F(SyncOperation, AWriteThroughTheServiceReachesTheServerByItself) {
    auto config = sync_config();
    config.batch_max_age = std::chrono::milliseconds(20);
    make_uploader(config);
    use_service_with(std::make_shared<UploaderControl>(*uploader_));
    uploader_->start();
    ASSERT_TRUE(run_until([&] { return uploader_->status().state == SyncState::idle; }));
    start_inspection();
    ASSERT_TRUE(run_until([&] { return office_->acked_seq() == 1; }));
}

}  // namespace
}  // namespace fieldlog::sync::client::testing
