// What supervisors read back: devices, records by kind/site/time, logs, summaries, chain
// verification; and the admin endpoints' refusal of anything but the admin token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "server_harness.hpp"

namespace fieldlog::server::testing {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::int64_t hour_ms = 3600 * 1000;

class ReadApiTest : public ::testing::Test {
protected:
    ReadApiTest() : chain_("handheld-01") { token_ = server_.enrol(chain_.device_id()); }

    void sync() {
        auto reply = server_.post_batch(chain_.device_id(), token_,
                                        chain_.batch(synced_ + 1, chain_.last_seq()));
        ASSERT_EQ(reply.status, 200) << reply.body;
        synced_ = chain_.last_seq();
    }
    json::object get(const std::string& target) {
        auto reply = server_.admin("GET", target);
        EXPECT_EQ(reply.status, 200) << target << ": " << reply.body;
        return parse_object(reply.body);
    }
    std::vector<std::string> record_ids(const std::string& target) {
        std::vector<std::string> ids;
        json::object reply = get(target);
        for (const auto& r : reply.at("records").as_array()) {
            ids.emplace_back(r.at("record_id").as_string());
        }
        return ids;
    }

    TestServer server_;
    DeviceChain chain_;
    std::string token_;
    std::int64_t synced_ = 0;
};

TEST_F(ReadApiTest, RecordsByKindSiteAndTime) {
    chain_.append("inspection", "insp-a", inspection_record("insp-a", "plant-1", 10 * hour_ms));
    chain_.append("measurement", "m-1", measurement_record("m-1", "insp-a", 11 * hour_ms));
    sync();
    // The measurement in a later batch still finds its inspection's site.
    chain_.append("inspection", "insp-b", inspection_record("insp-b", "yard-2", 20 * hour_ms));
    chain_.append("measurement", "m-2", measurement_record("m-2", "insp-a", 12 * hour_ms));
    chain_.append("measurement", "m-3", measurement_record("m-3", "insp-b", 21 * hour_ms));
    sync();

    EXPECT_THAT(record_ids("/v1/records?kind=measurement"), ElementsAre("m-1", "m-2", "m-3"));
    EXPECT_THAT(record_ids("/v1/records?site_id=plant-1"), ElementsAre("insp-a", "m-1", "m-2"));
    EXPECT_THAT(record_ids("/v1/records?kind=measurement&site_id=yard-2"), ElementsAre("m-3"));
    EXPECT_THAT(record_ids("/v1/records?from_ms=" + std::to_string(11 * hour_ms) +
                           "&to_ms=" + std::to_string(20 * hour_ms)),
                ElementsAre("m-1", "m-2"));
    EXPECT_THAT(record_ids("/v1/records?limit=2"), ElementsAre("insp-a", "m-1"));
    EXPECT_THAT(record_ids("/v1/records?device_id=handheld-01&after_seq=3"),
                ElementsAre("m-2", "m-3"));
    EXPECT_TRUE(record_ids("/v1/records?device_id=someone-else").empty());
    // Empty parameters, as a form sends them, filter nothing.
    EXPECT_THAT(record_ids("/v1/records?device_id=&kind=measurement&site_id="),
                ElementsAre("m-1", "m-2", "m-3"));

    json::object first =
        get("/v1/records?kind=measurement&limit=1").at("records").at(0).as_object();
    EXPECT_EQ(first.at("device_id"), "handheld-01");
    EXPECT_EQ(first.at("seq"), 2);
    EXPECT_EQ(first.at("site_id"), "plant-1");
    EXPECT_EQ(first.at("received_ms"), base_time_ms);
    EXPECT_EQ(first.at("device_time_ms"), chain_.entry(2).entry.device_time_ms);
    EXPECT_EQ(first.at("record").at("parameter"), "COD");
}

TEST_F(ReadApiTest, RecordsShowTheLatestStateOnce) {
    chain_.append("complaint", "C-1", complaint_record("C-1", "received", std::nullopt, 0, {}));
    chain_.append("complaint", "C-1", complaint_record("C-1", "closed", "substantiated", 0, 10));
    sync();
    json::object reply = get("/v1/records?kind=complaint");
    ASSERT_EQ(reply.at("records").as_array().size(), 1u);
    EXPECT_EQ(reply.at("records").at(0).at("seq"), 2);
    EXPECT_EQ(reply.at("records").at(0).at("record").at("status"), "closed");
}

TEST_F(ReadApiTest, DeletedRecordsAreNotListed) {
    chain_.append("rectification", "r-1", json::object{{"id", "r-1"}, {"problem", "open pit"}});
    chain_.append("rectification", "r-2", json::object{{"id", "r-2"}, {"problem", "no cover"}});
    chain_.append("rectification", "r-1", json::object{{"id", "r-1"}}, std::nullopt, "delete");
    sync();
    EXPECT_THAT(record_ids("/v1/records?kind=rectification"), ElementsAre("r-2"));
    EXPECT_EQ(stored_counts(server_.data_dir(), "handheld-01").entries, 3);
}

TEST_F(ReadApiTest, BadRecordQueriesAreRefused) {
    for (const std::string target :
         {"/v1/records?kind=photo&knd=x", "/v1/records?limit=0", "/v1/records?limit=1001",
          "/v1/records?from_ms=yesterday", "/v1/records?kind=a&kind=b"}) {
        auto reply = server_.admin("GET", target);
        EXPECT_EQ(reply.status, 400) << target;
    }
}

TEST_F(ReadApiTest, ComplaintSummaryReadsLikeThePublishedOne) {
    struct C {
        const char* status;
        std::optional<std::string> finding;
    };
    std::vector<C> complaints{{"closed", "substantiated"},
                              {"closed", "not_substantiated"},
                              {"stage_closed", "substantiated"},
                              {"stage_closed", "substantiated"},
                              {"stage_closed", "substantiated"},
                              {"stage_closed", "partly_substantiated"},
                              {"stage_closed", "partly_substantiated"},
                              {"stage_closed", "partly_substantiated"},
                              {"stage_closed", "partly_substantiated"},
                              {"stage_closed", "not_substantiated"},
                              {"investigating", std::nullopt}};
    std::int64_t received = base_time_ms - 10 * hour_ms;
    for (std::size_t i = 0; i < complaints.size(); ++i) {
        std::string id = "C-" + std::to_string(i + 1);
        // The first is forwarded two hours after receipt: late.
        std::int64_t forwarded = received + (i == 0 ? 2 * hour_ms : hour_ms / 2);
        chain_.append(
            "complaint", id,
            complaint_record(id, complaints[i].status, complaints[i].finding, received, forwarded));
    }
    sync();
    // A second device logged one of the same complaints: it counts once.
    DeviceChain second("handheld-02");
    std::string token = server_.enrol("handheld-02");
    second.append("complaint", "C-11",
                  complaint_record("C-11", "received", std::nullopt, received, {}));
    ASSERT_EQ(server_.post_batch("handheld-02", token, second.batch(1, 1)).status, 200);

    json::object summary = get("/v1/summaries/complaints");
    EXPECT_EQ(summary.at("text"),
              "11 complaints: 2 closed (1 substantiated, 1 not), 8 stage-closed (3 substantiated, "
              "4 partly, 1 not), 1 in progress");
    EXPECT_EQ(summary.at("total"), 11);
    EXPECT_EQ(summary.at("closed").at("substantiated"), 1);
    EXPECT_EQ(summary.at("stage_closed").at("partly_substantiated"), 4);
    EXPECT_EQ(summary.at("forwarded_late"), 1);

    json::object only_second = get("/v1/summaries/complaints?device_id=handheld-02");
    EXPECT_EQ(only_second.at("text"), "1 complaint: 1 in progress");
}

TEST_F(ReadApiTest, DocumentSummaryAddsUpBatches) {
    std::int64_t items[] = {10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 12, 11};
    std::int64_t documents[] = {70, 70, 70, 70, 70, 70, 70, 70, 70, 70, 93, 93};
    for (int i = 0; i < 12; ++i) {
        chain_.append("document_batch", std::to_string(i + 1),
                      document_record(i + 1, items[i], documents[i], base_time_ms + i));
    }
    sync();
    json::object summary = get("/v1/summaries/documents");
    EXPECT_EQ(summary.at("text"), "12 batches, 123 items, 886 documents");
    EXPECT_EQ(summary.at("documents"), 886);
}

TEST_F(ReadApiTest, LogsComeNewestFirst) {
    for (int i = 1; i <= 5; ++i) {
        chain_.append("device_log", std::to_string(i),
                      log_record(i, base_time_ms + i, "event-" + std::to_string(i)));
    }
    chain_.append("inspection", "insp-a", inspection_record("insp-a", "plant-1", 0));
    sync();
    json::object logs = get("/v1/devices/handheld-01/logs?limit=3");
    std::vector<std::string> events;
    for (const auto& e : logs.at("entries").as_array())
        events.emplace_back(e.at("event").as_string());
    EXPECT_THAT(events, ElementsAre("event-5", "event-4", "event-3"));
    EXPECT_EQ(server_.admin("GET", "/v1/devices/nobody/logs").status, 404);
}

TEST_F(ReadApiTest, DeviceListShowsSyncState) {
    chain_.append("device_log", "1", log_record(1, 1, "boot"));
    chain_.append("device_log", "2", log_record(2, 2, "sync"));
    json::object body = chain_.batch(1, 2);
    body["pending"] = json::object{{"entries", 5}, {"bytes", 1234}};
    ASSERT_EQ(server_.post_batch("handheld-01", token_, body).status, 200);
    server_.enrol("spare-01");
    server_.clock().now_ms = base_time_ms + 5000;
    ASSERT_EQ(server_.admin("POST", "/v1/admin/devices/spare-01/revoke").status, 200);

    json::array devices = get("/v1/admin/devices").at("devices").as_array();
    ASSERT_EQ(devices.size(), 2u);
    const json::object& d = devices[0].as_object();
    EXPECT_EQ(d.at("device_id"), "handheld-01");
    EXPECT_EQ(d.at("acked_seq"), 2);
    EXPECT_EQ(d.at("head_seq"), 2);
    EXPECT_EQ(d.at("pending_entries"), 5);
    EXPECT_EQ(d.at("pending_bytes"), 1234);
    EXPECT_EQ(d.at("last_sync_ms"), base_time_ms);
    EXPECT_EQ(d.at("public_key").as_string(), chain_.public_key_hex());
    EXPECT_TRUE(d.at("revoked_ms").is_null());
    EXPECT_EQ(devices[1].at("revoked_ms"), base_time_ms + 5000);
    EXPECT_TRUE(devices[1].at("last_sync_ms").is_null());
}

TEST_F(ReadApiTest, VerifyPassesForAnIntactChainAndNamesAlteredEntries) {
    for (int i = 1; i <= 6; ++i) {
        chain_.append("device_log", std::to_string(i), log_record(i, i, "tick"));
        if (i % 2 == 0) sync();
    }
    json::object ok = get("/v1/devices/handheld-01/verify");
    EXPECT_EQ(ok.at("ok"), true);
    EXPECT_EQ(ok.at("entries_checked"), 6);
    EXPECT_EQ(ok.at("heads_checked"), 3);
    EXPECT_EQ(ok.at("head_seq"), 6);

    // Someone edits a stored record at rest.
    exec_on_database(server_.data_dir(),
                     "UPDATE entries SET payload = replace(payload, 'tick', 'tock') WHERE seq = 4");
    json::object bad = get("/v1/devices/handheld-01/verify");
    EXPECT_EQ(bad.at("ok"), false);
    ASSERT_EQ(bad.at("problems").as_array().size(), 1u);
    EXPECT_EQ(bad.at("problems").at(0).at("seq"), 4);
    EXPECT_THAT(std::string(bad.at("problems").at(0).at("what").as_string()),
                HasSubstr("payload_hash"));

    exec_on_database(server_.data_dir(), "DELETE FROM records WHERE seq = 6");
    exec_on_database(server_.data_dir(), "DELETE FROM entries WHERE seq = 6");
    json::object cut = get("/v1/devices/handheld-01/verify");
    std::string all = json::serialize(cut.at("problems"));
    EXPECT_THAT(all, HasSubstr("beyond the stored chain"));
    EXPECT_EQ(server_.admin("GET", "/v1/devices/nobody/verify").status, 404);
}

TEST_F(ReadApiTest, AdminEndpointsRefuseADeviceToken) {
    chain_.append("device_log", "1", log_record(1, 1, "boot"));
    sync();
    for (auto [method, target] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/v1/admin/devices"},
             {"POST", "/v1/admin/devices"},
             {"POST", "/v1/admin/devices/handheld-01/revoke"},
             {"GET", "/v1/records"},
             {"GET", "/v1/devices/handheld-01/logs"},
             {"GET", "/v1/devices/handheld-01/verify"},
             {"GET", "/v1/summaries/complaints"}}) {
        std::string body = method == "POST" ? R"({"device_id": "evil"})" : "";
        auto reply = server_.send(method, target, token_, body);
        EXPECT_EQ(reply.status, 401) << method << " " << target;
        EXPECT_EQ(error_code(reply), "unauthorized");
    }
    EXPECT_EQ(stored_counts(server_.data_dir(), "evil").entries, 0);
    EXPECT_EQ(get("/v1/admin/devices").at("devices").as_array().size(), 1u);
}

TEST_F(ReadApiTest, EnrolmentAndRevocationAnswers) {
    auto again = server_.admin("POST", "/v1/admin/devices", R"({"device_id": "handheld-01"})");
    EXPECT_EQ(again.status, 409);
    EXPECT_EQ(server_.admin("POST", "/v1/admin/devices/nobody/revoke").status, 404);
    EXPECT_EQ(server_.admin("POST", "/v1/admin/devices", R"({"device_id": "../etc"})").status, 400);
    EXPECT_EQ(server_.admin("POST", "/v1/admin/devices", R"({"device": "x"})").status, 400);
    EXPECT_EQ(
        server_.admin("POST", "/v1/admin/devices", R"({"device_id": "x", "public_key": "12"})")
            .status,
        400);
    auto first = server_.admin("POST", "/v1/admin/devices/handheld-01/revoke");
    server_.clock().now_ms = base_time_ms + 1;
    auto second = server_.admin("POST", "/v1/admin/devices/handheld-01/revoke");
    EXPECT_EQ(first.status, 200);
    EXPECT_EQ(parse_object(second.body).at("revoked_ms"), base_time_ms);
}

}  // namespace
}  // namespace fieldlog::server::testing
