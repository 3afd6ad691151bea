// Reference data end to end: the office publishes a new site with fieldlog-admin, a fieldlogd
// syncs, and the inspector works at that site with readings judged by the downloaded limit,
// also after a restart with the office out of reach.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <csignal>

#include "fieldlog/files.hpp"
#include "sync_harness.hpp"
#include "temp_dir.hpp"

namespace fieldlog::testing {
namespace {

namespace json = boost::json;
using ::testing::Contains;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr std::string_view area_sites = R"([[site]]
id = "riverside-new"
name = "Riverside New Treatment Plant"
kind = "wastewater_treatment_plant"
standard = "GB18918-2002/1A"
built = 2024-03-01
permit = "91320999MA30RS2K1A001P"
permit_limits = [ { parameter = "COD", max = 40, unit = "mg/L" } ]
)";

constexpr std::string_view area_assignments = R"([[complaint]]
case_number = "2026-0117"
batch_number = 9
summary = "Foam on the river below the outfall"
received = 2026-11-24T10:00:00+08:00
site = "riverside-new"
devices = ["field-01"]
)";

std::vector<std::string> site_ids(const DaemonProcess& device) {
    std::vector<std::string> out;
    auto list = device.ok("site.list");
    if (const auto* sites = list.if_contains("sites"); sites != nullptr && sites->is_array()) {
        for (const auto& s : sites->get_array()) out.emplace_back(s.at("id").as_string());
    }
    return out;
}

TEST(SyncReference, APublishedSiteReachesTheDeviceAndItsLimitJudgesReadings) {
    TempDir dir;
    ServerProcess server(dir / "server");
    ASSERT_TRUE(server.start());
    const std::string token = server.enrol("field-01");
    ASSERT_FALSE(token.empty());
    auto device = make_sync_device(dir / "device", "field-01", server.url(), token);
    ASSERT_TRUE(device->start());

    // Before anything is published the device works from its config files.
    ASSERT_THAT(site_ids(*device), Contains("wwtp-east"));
    json::object start{{"site_id", "riverside-new"},
                       {"kind", "wastewater_discharge"},
                       {"inspectors", json::array{"Li Wei"}}};
    auto refused = device->request(json::object{{"op", "inspection.start"}, {"args", start}});
    ASSERT_TRUE(refused);
    EXPECT_EQ(error_code(*refused), "not_found");

    // The office publishes the area: its sites, the standards they name, and a complaint case.
    const auto area = dir / "area";
    std::filesystem::create_directories(area / "standards");
    ASSERT_TRUE(write_file_atomically(area / "sites.toml", area_sites, 0644));
    ASSERT_TRUE(write_file_atomically(area / "assignments.toml", area_assignments, 0644));
    auto standards =
        read_file(source_dir() / "config" / "standards" / "gb18918-2002.toml", 1 << 20);
    ASSERT_TRUE(standards);
    ASSERT_TRUE(write_file_atomically(area / "standards" / "gb18918-2002.toml", *standards, 0644));
    std::string output;
    auto published = server.run_admin({"reference", "publish", area.string()}, output);
    ASSERT_TRUE(published && published->exited() && published->code() == 0) << output;
    EXPECT_THAT(output, HasSubstr("published reference data version 1"));

    // The device syncs; the sync answers once the reference data is applied.
    auto synced = device->ok("sync", {{"wait", true}});
    ASSERT_EQ(synced.at("drained"), true) << json::serialize(synced);
    auto status = device->ok("status");
    const auto& reference = status.at("reference").as_object();
    EXPECT_EQ(reference.at("source"), "office") << json::serialize(reference);
    EXPECT_EQ(reference.at("version"), 1);
    EXPECT_EQ(reference.at("assigned_complaints"), 1);
    EXPECT_EQ(site_ids(*device), std::vector<std::string>{"riverside-new"});

    // The inspector starts there, and a reading is judged against the downloaded permit limit.
    auto inspection = device->ok("inspection.start", start);
    ASSERT_TRUE(inspection.contains("inspection")) << json::serialize(inspection);
    auto measurement =
        device->ok("measurement.add", {{"parameter", "COD"}, {"value", 60}, {"unit", "mg/L"}})
            .at("measurement")
            .as_object();
    EXPECT_EQ(measurement.at("verdict"), "exceeds") << json::serialize(measurement);
    EXPECT_EQ(measurement.at("limit_max").as_double(), 40);
    EXPECT_EQ(measurement.at("limit_source"), "permit 91320999MA30RS2K1A001P");
    EXPECT_DOUBLE_EQ(measurement.at("exceedance_ratio").as_double(), 0.5);
    auto complaints = device->ok("complaint.list");
    ASSERT_EQ(complaints.at("assigned").as_array().size(), 1u) << json::serialize(complaints);
    EXPECT_EQ(complaints.at("assigned").as_array()[0].at("case_number"), "2026-0117");

    // The device log records the version, and the office sees that entry like any other.
    ASSERT_TRUE(sync_until_drained(*device, 30s));
    auto logs = server.admin_json("/v1/devices/field-01/logs?limit=100");
    std::vector<std::string> events;
    for (const auto& e : logs.at("entries").as_array()) {
        events.push_back(std::string(e.at("event").as_string()) + ": " +
                         std::string(e.at("message").as_string()));
    }
    EXPECT_THAT(events, Contains(HasSubstr("reference_applied: reference data version 1")));
    EXPECT_TRUE(delivered_exactly_once(server, *device));

    // Offline and restarted, the device keeps the downloaded data rather than its files'.
    ASSERT_TRUE(server.stop());
    ASSERT_TRUE(device->kill(SIGTERM));
    ASSERT_TRUE(device->wait_exit());
    ASSERT_TRUE(device->start());
    EXPECT_EQ(site_ids(*device), std::vector<std::string>{"riverside-new"});
    EXPECT_EQ(device->ok("status").at("reference").at("version"), 1);
}

}  // namespace
}  // namespace fieldlog::testing
