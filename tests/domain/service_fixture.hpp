// A real store in a temp dir with the shipped reference data, behind the inspection service.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "fieldlog/domain/service.hpp"
#include "temp_dir.hpp"

namespace fieldlog::domain::testing {

class ServiceTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    // Runs an operation with args given as JSON text.
    Result<boost::json::value> run(std::string_view op, std::string_view args_json = "{}");
    // Runs it and fails the test unless it succeeds.
    boost::json::object ok(std::string_view op, std::string_view args_json = "{}");
    // Runs it, expects the given error code and returns the message.
    std::string fails(std::string_view op, std::string_view args_json, Errc code);

    std::int64_t pending_outbox();
    std::string start_inspection(std::string_view site = "wwtp-east");

    // A fixture that must see the head before it is signed sets a long interval in its
    // constructor, so only a signed read (verify, export) or close signs it.
    std::chrono::milliseconds head_sign_interval_{std::chrono::seconds(1)};
    // The receiver's fix as the service sees it; read on the test thread, where requests start.
    std::optional<Fix> fix_;
    fieldlog::testing::TempDir dir_;
    std::atomic<std::int64_t> now_ms_{1'795'564'800'000};  // 2026-11-25T00:00:00Z
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<InspectionService> service_;
};

}  // namespace fieldlog::domain::testing
