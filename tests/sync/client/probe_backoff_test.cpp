// While the office is out of reach the uploader only probes, and backs off with equal jitter
// from probe_interval toward probe_max. The waits are read from the next_attempt_ms each
// backoff reports against a wall clock that stands still, so no assertion depends on timing.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>

#include "fieldlog/sync/client/uploader.hpp"
#include "uploader_fixture.hpp"

namespace fieldlog::sync::client::testing {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t now_ms = 1'700'000'000'000;

class ProbeBackoff : public UploaderTest {
protected:
    // An uploader for a server out of reach, probing from probe_interval up to probe_max; a
    // failure that is not about reach would wait an hour.
    void make_probing_uploader(milliseconds probe_interval, milliseconds probe_max) {
        auto config = sync_config();
        config.url = closed_port_url();
        config.probe_interval = probe_interval;
        config.probe_max = probe_max;
        config.retry_initial = milliseconds(3'600'000);
        config.retry_max = milliseconds(3'600'000);
        UploaderOptions options;
        options.config = std::move(config);
        options.random_seed = 42;
        options.wall_clock_ms = [] { return now_ms; };
        options.on_status_change = [this] {
            SyncStatus s = uploader_->status();
            if (s.state != SyncState::backoff || !s.next_attempt_ms) return;
            EXPECT_TRUE(s.unreachable) << s.last_error;
            waits_[s.attempts] = milliseconds(*s.next_attempt_ms - now_ms);
            if (on_backoff_) on_backoff_(s.attempts);
        };
        auto made = Uploader::create(io_, *store_, std::move(options));
        ASSERT_TRUE(made) << made.error().to_string();
        uploader_ = std::move(*made);
    }

    // Runs until the round `attempt` has failed and its backoff is scheduled (bounded).
    bool backed_off_after(std::int64_t attempt) {
        return run_until(
            [&] { return waits_.contains(attempt) && status().state == SyncState::backoff; });
    }

    // The equal-jitter window of the n-th failure in a row: the upper half of the doubled
    // interval, capped.
    static void expect_in_window(milliseconds wait, int n, milliseconds interval, milliseconds cap,
                                 std::int64_t attempt) {
        milliseconds ceiling = interval;
        for (int i = 1; i < n && ceiling < cap; ++i) ceiling *= 2;
        ceiling = std::min(ceiling, cap);
        EXPECT_GE(wait, ceiling / 2) << "attempt " << attempt << ", failure " << n << " in a row";
        EXPECT_LE(wait, ceiling) << "attempt " << attempt << ", failure " << n << " in a row";
    }

    std::map<std::int64_t, milliseconds> waits_;  // by attempt: the wait its failure scheduled
    std::function<void(std::int64_t attempt)> on_backoff_;
};

TEST_F(ProbeBackoff, WaitsGrowFromTheProbeIntervalToProbeMaxAndNeverNearZero) {
    const milliseconds interval(20), cap(160);
    start_inspection();
    make_probing_uploader(interval, cap);
    uploader_->start();
    // Five probes double the ceiling up to the cap (20, 40, 80, 160), the rest stay there.
    constexpr std::int64_t probes = 7;
    ASSERT_TRUE(backed_off_after(probes)) << status().last_error;
    for (std::int64_t attempt = 1; attempt <= probes; ++attempt) {
        ASSERT_TRUE(waits_.contains(attempt)) << "attempt " << attempt;
        expect_in_window(waits_[attempt], static_cast<int>(attempt), interval, cap, attempt);
        EXPECT_GE(waits_[attempt], interval / 2) << "attempt " << attempt;
    }
    EXPECT_LE(waits_[1], interval);
    EXPECT_GE(waits_[probes], cap / 2);
    EXPECT_TRUE(status().unreachable);
    EXPECT_EQ(pending_entries(), 1);
}

TEST_F(ProbeBackoff, ALinkChangeTriesAtOnceAndRestartsTheBackoff) {
    const milliseconds interval(20), cap(3'600'000);
    start_inspection();
    make_probing_uploader(interval, cap);
    // The link change comes the moment the fourth probe's backoff (80 to 160 ms) is scheduled:
    // posted then, it runs before that wait can end.
    bool changed = false;
    on_backoff_ = [&](std::int64_t attempt) {
        if (attempt != 4 || changed) return;
        changed = true;
        boost::asio::post(io_, [this] { uploader_->notify_network_changed(); });
    };
    uploader_->start();
    ASSERT_TRUE(backed_off_after(6)) << status().last_error;
    ASSERT_TRUE(changed);
    expect_in_window(waits_[4], 4, interval, cap, 4);
    // Attempt 5 was the link change's; its failure is the first of a new run, and so on.
    expect_in_window(waits_[5], 1, interval, cap, 5);
    expect_in_window(waits_[6], 2, interval, cap, 6);
}

TEST_F(ProbeBackoff, EveryTriggerTriesAtOnceDuringALongBackoff) {
    // Probes an hour or more apart: an attempt within the test can only be a trigger's.
    const milliseconds interval(3'600'000), cap(86'400'000);
    start_inspection();
    make_probing_uploader(interval, cap);
    uploader_->start();
    ASSERT_TRUE(backed_off_after(1)) << status().last_error;
    expect_in_window(waits_[1], 1, interval, cap, 1);

    uploader_->notify_network_changed();
    ASSERT_TRUE(backed_off_after(2)) << status().last_error;
    uploader_->notify_docked();
    ASSERT_TRUE(backed_off_after(3)) << status().last_error;
    uploader_->request_sync(false, [](Result<boost::json::value>) {});
    ASSERT_TRUE(backed_off_after(4)) << status().last_error;
    // Each began the backoff again: without that, the fourth failure in a row would wait
    // four to eight hours.
    for (std::int64_t attempt = 2; attempt <= 4; ++attempt) {
        expect_in_window(waits_[attempt], 1, interval, cap, attempt);
    }
    EXPECT_EQ(status().attempts, 4);
}

}  // namespace
}  // namespace fieldlog::sync::client::testing
