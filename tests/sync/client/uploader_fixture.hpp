// A device (real store and inspection service in a temp dir) and a fake office server on
// loopback, with the uploader between them on the test's own io_context. Every wait is bounded.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fake_office.hpp"
#include "fieldlog/domain/service.hpp"
#include "fieldlog/sync/client/uploader.hpp"
#include "temp_dir.hpp"

namespace fieldlog::sync::client::testing {

inline constexpr std::string_view device_id = "test-device";
inline constexpr std::string_view device_token = "t0k3n-for-tests";
// Photo chunks in tests: small, so the few hundred bytes of a test JPEG take several.
inline constexpr std::size_t chunk = 128;

class UploaderTest : public ::testing::Test {
protected:
    UploaderTest();
    void SetUp() override;
    void TearDown() override;

    // Small and fast: retries within tens of milliseconds, photo chunks of `chunk` bytes.
    config::SyncConfig sync_config() const;
    void make_uploader(config::SyncConfig config);
    void make_uploader() { make_uploader(sync_config()); }

    // Runs the loop until done() or the deadline; false on timeout.
    bool run_until(const std::function<bool()>& done,
                   std::chrono::milliseconds deadline = std::chrono::seconds(20));
    // request_sync(wait = true) and the loop until it answers.
    Result<boost::json::value> sync_and_wait();

    // Records written through the inspection service; each adds one outbox entry.
    std::string start_inspection();
    void add_measurement(double value = 75);
    // A photo of several chunks; returns its SHA-256.
    std::string add_photo(std::uint32_t seed = 1);
    std::int64_t pending_entries();
    std::int64_t parked_rows();
    SyncStatus status() const { return uploader_->status(); }

    fieldlog::testing::TempDir dir_;
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<domain::InspectionService> service_;
    std::unique_ptr<FakeOffice> office_;
    std::unique_ptr<Uploader> uploader_;
    std::vector<std::string> device_log_;  // "level event: message"
};

}  // namespace fieldlog::sync::client::testing
