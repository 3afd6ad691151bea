// UploaderOptions::on_status_change: what a display (the device's status LEDs) follows instead of
// polling status().
#include <gtest/gtest.h>

#include <thread>

#include "fieldlog/sync/client/uploader.hpp"
#include "uploader_fixture.hpp"

namespace fieldlog::sync::client::testing {
namespace {

class StatusChanges : public UploaderTest {
protected:
    // Creates the uploader with a listener that records every snapshot it is told about.
    void make_listening_uploader(config::SyncConfig config) {
        UploaderOptions options;
        options.config = std::move(config);
        options.random_seed = 42;
        options.on_status_change = [this] {
            if (std::this_thread::get_id() != loop_thread_) ++calls_off_loop_;
            seen_.push_back(uploader_->status());
        };
        auto made = Uploader::create(io_, *store_, std::move(options));
        ASSERT_TRUE(made) << made.error().to_string();
        uploader_ = std::move(*made);
    }

    std::thread::id loop_thread_ = std::this_thread::get_id();  // run_until runs io_ here
    int calls_off_loop_ = 0;
    std::vector<SyncStatus> seen_;
};

TEST_F(StatusChanges, ListenerFollowsARoundOnTheLoopThread) {
    start_inspection();
    make_listening_uploader(sync_config());
    uploader_->start();
    ASSERT_TRUE(run_until([&] {
        return status().state == SyncState::idle && status().last_success_ms && !seen_.empty() &&
               seen_.back().state == SyncState::idle;
    }));
    EXPECT_EQ(calls_off_loop_, 0);
    ASSERT_GE(seen_.size(), 2u);
    EXPECT_EQ(seen_.front().state, SyncState::syncing);
    EXPECT_EQ(seen_.front().attempts, 1);
    EXPECT_TRUE(seen_.back().last_success_ms);
    // Told only of changes: no two snapshots in a row are the same.
    for (std::size_t i = 1; i < seen_.size(); ++i) {
        EXPECT_FALSE(seen_[i] == seen_[i - 1]) << "snapshot " << i << " repeats the one before";
    }
    EXPECT_EQ(status().to_json().at("attempts").as_int64(), 1);
}

TEST_F(StatusChanges, CountsAttemptsAndSaysWhenTheServerIsOutOfReach) {
    start_inspection();
    auto config = sync_config();
    config.url = closed_port_url();
    // The first retry only long after the test: every attempt seen is one asked for.
    config.probe_interval = std::chrono::milliseconds(86'400'000);
    config.retry_initial = std::chrono::milliseconds(3'600'000);
    config.retry_max = std::chrono::milliseconds(86'400'000);
    make_listening_uploader(config);
    uploader_->start();
    ASSERT_TRUE(run_until([&] { return status().state == SyncState::backoff; }));
    EXPECT_EQ(status().attempts, 1);
    EXPECT_TRUE(status().unreachable) << status().last_error;
    EXPECT_FALSE(status().last_error.empty());
    ASSERT_FALSE(seen_.empty());
    EXPECT_EQ(seen_.back().state, SyncState::backoff);

    std::size_t before = seen_.size();
    uploader_->request_sync(false, [](Result<boost::json::value>) {});
    ASSERT_TRUE(
        run_until([&] { return status().attempts == 2 && status().state != SyncState::syncing; }));
    EXPECT_GT(seen_.size(), before);
    EXPECT_EQ(calls_off_loop_, 0);
}

TEST_F(StatusChanges, TellsNothingOnceStopped) {
    make_listening_uploader(sync_config());
    uploader_->stop();
    uploader_->notify_docked();
    uploader_->request_sync(false, [](Result<boost::json::value>) {});
    io_.run_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(seen_.empty());
}

}  // namespace
}  // namespace fieldlog::sync::client::testing
