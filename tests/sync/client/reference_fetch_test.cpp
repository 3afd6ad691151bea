// Reference data coming down through the uploader: asked for after a round drained the outbox,
// applied by the inspection service in one transaction, and refused whole (logged, nothing
// changed) when the reply is cut short, garbage, altered or older than what the device holds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "fieldlog/config/reference_set.hpp"
#include "uploader_fixture.hpp"

namespace fieldlog::sync::client::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr std::string_view standards_toml = R"([[class]]
id = "TEST/1"
title = "Test class"
limits = [ { parameter = "COD", max = 50, unit = "mg/L" } ]
)";

std::string sites_toml(std::string_view id) {
    return "[[site]]\nid = \"" + std::string(id) +
           "\"\nname = \"Downloaded plant\"\nkind = \"wastewater_treatment_plant\"\n"
           "standard = \"TEST/1\"\n";
}

std::string bundle(std::int64_t version, std::string_view site_id,
                   const std::string& device = std::string(device_id)) {
    std::vector<config::SourceFile> files{{"standards.toml", std::string(standards_toml)},
                                          {"sites.toml", sites_toml(site_id)}};
    auto set = config::parse_reference_files(files);
    EXPECT_TRUE(set) << (set ? "" : set.error().message());
    return config::make_reference_bundle(version, 1795500000000, device, *set);
}

ServerResponse bundle_reply(std::string body) {
    return {200, {{"Content-Type", "application/json"}}, std::move(body), false};
}

class ReferenceFetching : public UploaderTest {
protected:
    void make_fetching_uploader(milliseconds interval = milliseconds(60'000)) {
        UploaderOptions options;
        options.config = sync_config();
        options.random_seed = 42;
        options.device_log = [this](std::string_view level, std::string_view event,
                                    std::string message) {
            device_log_.push_back(std::string(level) + " " + std::string(event) + ": " + message);
        };
        options.reference.current_version = [this] { return service_->office_reference_version(); };
        options.reference.apply = [this](std::string body, auto done) {
            service_->apply_reference_bundle(std::move(body), std::move(done));
        };
        options.reference.check_interval = interval;
        auto made = Uploader::create(io_, *store_, std::move(options));
        ASSERT_TRUE(made) << made.error().to_string();
        uploader_ = std::move(*made);
    }

    // Answers GET .../reference with the next of replies, then with 204.
    void serve_reference(std::vector<ServerResponse> replies) {
        auto queue = std::make_shared<std::vector<ServerResponse>>(std::move(replies));
        office_->set_script(
            [queue](FakeOffice&, const ServerRequest& r, int) -> std::optional<ServerResponse> {
                if (r.method != "GET" || r.target.find("/reference") == std::string::npos) {
                    return std::nullopt;
                }
                if (queue->empty()) return ServerResponse{204, {}, "", false};
                ServerResponse next = queue->front();
                queue->erase(queue->begin());
                return next;
            });
    }

    std::vector<std::string> reference_targets() const {
        std::vector<std::string> out;
        for (const auto& r : office_->requests("GET")) out.push_back(r.target);
        return out;
    }

    std::vector<std::string> site_ids() {
        std::vector<std::string> out;
        auto list = service_->execute_sync("site.list", {});
        EXPECT_TRUE(list);
        if (!list) return out;
        for (const auto& s : list->at("sites").as_array()) out.emplace_back(s.at("id").as_string());
        return out;
    }

    std::size_t refusals_logged() const {
        return static_cast<std::size_t>(
            std::count_if(device_log_.begin(), device_log_.end(), [](const std::string& line) {
                return line.find("reference_refused") != std::string::npos;
            }));
    }
};

TEST_F(ReferenceFetching, ADrainedRoundFetchesTheNewerVersionAndTheSyncAnswerWaitsForIt) {
    start_inspection();
    serve_reference({bundle_reply(bundle(1, "fresh-plant"))});
    make_fetching_uploader();
    auto answer = sync_and_wait();
    ASSERT_TRUE(answer) << answer.error().to_string();
    EXPECT_EQ(answer->at("drained"), true);
    // Only the device-log entry of the apply waits, for the next round.
    EXPECT_EQ(pending_entries(), 1);
    // Applied by the time the sync answers.
    EXPECT_EQ(service_->office_reference_version(), 1);
    EXPECT_EQ(site_ids(), std::vector<std::string>{"fresh-plant"});
    auto gets = office_->requests("GET");
    ASSERT_EQ(gets.size(), 1u);
    EXPECT_EQ(gets[0].target, "/v1/devices/" + std::string(device_id) + "/reference?since=0");
    EXPECT_EQ(gets[0].headers.at("authorization"), "Bearer " + std::string(device_token));
    auto sync = answer->at("sync").as_object();
    EXPECT_TRUE(sync.at("reference_checked_ms").is_int64()) << json::serialize(sync);
    EXPECT_TRUE(sync.at("reference_error").is_null()) << json::serialize(sync);

    // The next sync asks after the version it now holds, and the server has nothing newer.
    ASSERT_TRUE(sync_and_wait());
    EXPECT_THAT(reference_targets(), Contains(HasSubstr("/reference?since=1")));
    EXPECT_EQ(service_->office_reference_version(), 1);
    EXPECT_EQ(refusals_logged(), 0u);
}

TEST_F(ReferenceFetching, CutGarbageAlteredOlderAndForeignBundlesChangeNothingAndAreLogged) {
    std::string good = bundle(5, "kept-plant");
    std::string altered = bundle(6, "other-plant");
    altered.replace(altered.find("Downloaded plant"), 10, "Tampered p");
    serve_reference({
        bundle_reply(good),
        bundle_reply(good.substr(0, good.size() - 40)),  // cut short
        bundle_reply("<html>proxy error</html>"),
        bundle_reply("<html>proxy error</html>"),  // the same reason again
        bundle_reply(altered),
        bundle_reply(bundle(4, "old-plant")),                    // older than version 5
        bundle_reply(bundle(7, "new-plant", "another-device")),  // not this device's
        ServerResponse{302, {{"Location", "http://elsewhere/"}}, "", false},
    });
    make_fetching_uploader();
    ASSERT_TRUE(sync_and_wait());
    ASSERT_EQ(service_->office_reference_version(), 5);

    const std::vector<std::string> reasons{"not valid JSON",
                                           "not valid JSON",
                                           "not valid JSON",
                                           "altered or cut short",
                                           "not newer than version 5",
                                           "for device 'another-device'",
                                           "HTTP 302"};
    for (const auto& reason : reasons) {
        auto answer = sync_and_wait();
        ASSERT_TRUE(answer) << answer.error().to_string();
        const auto& sync = answer->at("sync").as_object();
        ASSERT_TRUE(sync.at("reference_error").is_string()) << json::serialize(sync);
        EXPECT_THAT(std::string(sync.at("reference_error").as_string()), HasSubstr(reason));
        EXPECT_EQ(service_->office_reference_version(), 5);
        EXPECT_EQ(site_ids(), std::vector<std::string>{"kept-plant"});
    }
    // Each refusal in the device log, a repeated reason only once in a row.
    EXPECT_EQ(refusals_logged(), 6u) << ::testing::PrintToString(device_log_);
    EXPECT_THAT(device_log_, Contains(HasSubstr("nothing changed and version 5 stay in use")));
    EXPECT_EQ(status().state, SyncState::idle);
}

TEST_F(ReferenceFetching, RoundsOfTheirOwnAskOnlyOnceTheIntervalHasPassed) {
    serve_reference({});
    make_fetching_uploader(milliseconds(3'600'000));
    start_inspection();
    uploader_->start();
    ASSERT_TRUE(run_until([&] { return office_->requests("GET").size() == 1; }));
    add_measurement();
    uploader_->notify_written();
    ASSERT_TRUE(
        run_until([&] { return pending_entries() == 0 && status().state == SyncState::idle; }));
    io_.run_for(milliseconds(100));
    EXPECT_EQ(office_->requests("GET").size(), 1u);
    // The operator's sync always asks.
    ASSERT_TRUE(sync_and_wait());
    EXPECT_EQ(office_->requests("GET").size(), 2u);
    EXPECT_TRUE(status().reference_error.empty()) << status().reference_error;
}

TEST_F(ReferenceFetching, AServerErrorIsNoRefusalAndTheNextRoundAsksAgain) {
    serve_reference({ServerResponse{503, {}, "busy", false}, bundle_reply(bundle(2, "later"))});
    make_fetching_uploader(milliseconds(3'600'000));
    start_inspection();
    uploader_->start();
    ASSERT_TRUE(run_until([&] { return !status().reference_error.empty(); }));
    EXPECT_THAT(status().reference_error, HasSubstr("HTTP 503"));
    EXPECT_EQ(refusals_logged(), 0u);
    ASSERT_TRUE(run_until([&] { return status().state == SyncState::idle; }));
    add_measurement();
    uploader_->notify_written();
    ASSERT_TRUE(run_until([&] { return service_->office_reference_version() == 2; }));
    EXPECT_TRUE(status().reference_error.empty());
}

TEST_F(ReferenceFetching, WithoutHooksNothingIsAskedFor) {
    make_uploader();
    start_inspection();
    ASSERT_TRUE(sync_and_wait());
    EXPECT_TRUE(office_->requests("GET").empty());
    EXPECT_FALSE(status().to_json().contains("reference_error"));
}

}  // namespace
}  // namespace fieldlog::sync::client::testing
