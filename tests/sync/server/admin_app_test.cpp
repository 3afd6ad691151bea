// fieldlog-admin against a running server: each command's text and --json output, and the
// exit statuses scripts branch on.
#include "fieldlog/server/admin_app.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "server_harness.hpp"

namespace fieldlog::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct AdminRun {
    int code = -1;
    std::string out;
    std::string err;
};

class AdminAppTest : public ::testing::Test {
protected:
    AdminRun admin(std::vector<std::string> args, const std::string& token_file = "") {
        std::vector<std::string> full{
            "--server",
            server_.url(),
            "--token-file",
            token_file.empty() ? server_.config().admin_token_file.string() : token_file,
            "--timeout",
            "20"};
        full.insert(full.end(), args.begin(), args.end());
        std::ostringstream out, err;
        AdminRun run;
        run.code = run_admin(full, out, err);
        run.out = out.str();
        run.err = err.str();
        return run;
    }

    std::string enrol_token(const std::string& device) {
        AdminRun r = admin({"device", "enrol", device, "--json"});
        EXPECT_EQ(r.code, 0) << r.err;
        return std::string(parse_object(r.out).at("token").as_string());
    }

    TestServer server_;
};

TEST_F(AdminAppTest, EnrolShowsTheTokenOnce) {
    AdminRun r = admin({"device", "enrol", "handheld-01"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, StartsWith("enrolled handheld-01\ntoken: "));
    std::string token = r.out.substr(r.out.find("token: ") + 7, 64);
    // The token works for the device and nothing else.
    DeviceChain chain("handheld-01");
    chain.append("device_log", "1", log_record(1, 1, "boot"));
    EXPECT_EQ(server_.post_batch("handheld-01", token, chain.batch(1, 1)).status, 200);
    AdminRun again = admin({"device", "enrol", "handheld-01"});
    EXPECT_EQ(again.code, static_cast<int>(AdminExit::conflict));
    EXPECT_THAT(again.err, HasSubstr("fieldlog-admin: conflict: "));
}

TEST_F(AdminAppTest, ListAndRevokeDevices) {
    std::string token = enrol_token("handheld-01");
    DeviceChain chain("handheld-01");
    for (int i = 1; i <= 3; ++i)
        chain.append("device_log", std::to_string(i), log_record(i, i, "x"));
    ASSERT_EQ(server_.post_batch("handheld-01", token, chain.batch(1, 3)).status, 200);
    AdminRun list = admin({"device", "list"});
    EXPECT_EQ(list.code, 0) << list.err;
    EXPECT_THAT(list.out, HasSubstr("DEVICE"));
    EXPECT_THAT(list.out, HasSubstr("handheld-01"));
    EXPECT_THAT(list.out, HasSubstr("active"));
    AdminRun revoke = admin({"device", "revoke", "handheld-01"});
    EXPECT_EQ(revoke.code, 0) << revoke.err;
    EXPECT_THAT(revoke.out, StartsWith("revoked handheld-01 at 2026-"));
    AdminRun json_list = admin({"--json", "device", "list"});
    auto devices = parse_object(json_list.out).at("devices").as_array();
    ASSERT_EQ(devices.size(), 1u);
    EXPECT_EQ(devices[0].at("acked_seq"), 3);
    EXPECT_FALSE(devices[0].at("revoked_ms").is_null());
    EXPECT_EQ(admin({"device", "revoke", "nobody"}).code, static_cast<int>(AdminExit::not_found));
}

TEST_F(AdminAppTest, RecordsLogsSummariesAndVerify) {
    std::string token = enrol_token("handheld-01");
    DeviceChain chain("handheld-01");
    chain.append("inspection", "insp-1", inspection_record("insp-1", "plant-1", base_time_ms));
    chain.append("complaint", "C-1",
                 complaint_record("C-1", "closed", "substantiated", base_time_ms, base_time_ms));
    chain.append("document_batch", "1", document_record(1, 4, 20, base_time_ms));
    chain.append("device_log", "1", log_record(1, base_time_ms, "sync_started"));
    ASSERT_EQ(server_.post_batch("handheld-01", token, chain.batch(1, 4)).status, 200);

    AdminRun records =
        admin({"records", "--site", "plant-1", "--from", "2026-11-01", "--to", "2026-12-31"});
    EXPECT_EQ(records.code, 0) << records.err;
    EXPECT_THAT(records.out, HasSubstr("handheld-01#1  inspection insp-1  site plant-1"));
    AdminRun none = admin({"records", "--kind", "photo"});
    EXPECT_EQ(none.out, "no records\n");
    AdminRun json_records = admin({"records", "--kind", "complaint", "--json"});
    EXPECT_EQ(parse_object(json_records.out).at("records").as_array().size(), 1u);

    AdminRun logs = admin({"logs", "handheld-01"});
    EXPECT_THAT(logs.out, HasSubstr("sync_started"));
    AdminRun complaints = admin({"summary", "complaints"});
    EXPECT_EQ(complaints.out, "1 complaint: 1 closed (1 substantiated)\n");
    AdminRun documents = admin({"summary", "documents", "--device", "handheld-01"});
    EXPECT_EQ(documents.out, "1 batch, 4 items, 20 documents\n");

    AdminRun verify = admin({"verify", "handheld-01"});
    EXPECT_EQ(verify.code, 0) << verify.err;
    EXPECT_THAT(verify.out, HasSubstr("verify handheld-01: ok, 4 entries"));
    exec_on_database(server_.data_dir(), "DELETE FROM heads");
    AdminRun broken = admin({"verify", "handheld-01"});
    EXPECT_EQ(broken.code, static_cast<int>(AdminExit::verify_problems));
    EXPECT_THAT(broken.out, HasSubstr("not covered by a signed head"));
}

TEST_F(AdminAppTest, ExitStatusesForFailures) {
    AdminRun usage = admin({"device", "frobnicate"});
    EXPECT_EQ(usage.code, static_cast<int>(AdminExit::usage));
    AdminRun bad_time = admin({"records", "--from", "last tuesday"});
    EXPECT_EQ(bad_time.code, static_cast<int>(AdminExit::usage));

    fieldlog::testing::TempDir dir;
    std::string wrong = (dir / "wrong.token").string();
    write_admin_token(wrong);
    AdminRun unauthorized = admin({"device", "list"}, wrong);
    EXPECT_EQ(unauthorized.code, static_cast<int>(AdminExit::unauthorized));
    EXPECT_THAT(unauthorized.err, HasSubstr("unauthorized"));

    AdminRun missing_file = admin({"device", "list"}, (dir / "absent").string());
    EXPECT_EQ(missing_file.code, static_cast<int>(AdminExit::usage));

    std::string url = server_.url();
    ASSERT_TRUE(server_.stop_and_wait(std::chrono::seconds(10)));
    std::ostringstream out, err;
    std::vector<std::string> args{"--server",     url,
                                  "--token-file", server_.config().admin_token_file.string(),
                                  "device",       "list"};
    EXPECT_EQ(run_admin(args, out, err), static_cast<int>(AdminExit::unreachable));
    EXPECT_THAT(err.str(), HasSubstr("unreachable"));
}

}  // namespace
}  // namespace fieldlog::server::testing
