// Reference data at the office: published as numbered versions from the office's TOML files,
// checked as a device checks its own, and served to each device as its own bundle.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <vector>

#include "fieldlog/config/reference_set.hpp"
#include "fieldlog/files.hpp"
#include "fieldlog/server/admin_app.hpp"
#include "fieldlog/server/sqlite_server_store.hpp"
#include "server_harness.hpp"

namespace fieldlog::server::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

constexpr std::string_view standards_toml = R"([[class]]
id = "TEST/1"
title = "Test class"
limits = [ { parameter = "COD", max = 50, unit = "mg/L" } ]
)";

constexpr std::string_view sites_toml = R"([[site]]
id = "plant-a"
name = "Plant A"
kind = "wastewater_treatment_plant"
standard = "TEST/1"

[[site]]
id = "works-b"
name = "Works B"
kind = "industrial_enterprise"
permit = "P-B"
permit_limits = [ { parameter = "COD", max = 200, unit = "mg/L" } ]
)";

constexpr std::string_view assignments_toml = R"([[complaint]]
case_number = "C-1"
batch_number = 2
site = "works-b"
devices = ["hh-1", "hh-2"]

[[complaint]]
case_number = "C-2"
batch_number = 2
devices = ["hh-2"]
)";

json::object file(std::string_view name, std::string_view text) {
    return json::object{{"name", name}, {"text", text}};
}

std::string publish_body(std::string_view sites = sites_toml,
                         std::string_view assignments = assignments_toml) {
    json::array files{file("standards/test.toml", standards_toml), file("sites.toml", sites)};
    if (!assignments.empty()) files.push_back(file("assignments.toml", assignments));
    return json::serialize(json::object{{"files", std::move(files)}});
}

class ReferenceApi : public ::testing::Test {
protected:
    void SetUp() override {
        token1_ = server_.enrol("hh-1");
        token2_ = server_.enrol("hh-2");
    }
    HttpReply publish(const std::string& body) {
        return server_.admin("POST", "/v1/admin/reference", body);
    }
    HttpReply fetch(const std::string& device, const std::string& token, std::string_view query) {
        return server_.send("GET", "/v1/devices/" + device + "/reference" + std::string(query),
                            token);
    }
    std::int64_t current_version() {
        auto reply = server_.admin("GET", "/v1/admin/reference");
        EXPECT_EQ(reply.status, 200) << reply.body;
        return parse_object(reply.body).at("version").as_int64();
    }

    TestServer server_;
    std::string token1_;
    std::string token2_;
};

TEST_F(ReferenceApi, PublishingNumbersVersionsAndStoresTheSameContentOnce) {
    EXPECT_EQ(current_version(), 0);
    auto first = publish(publish_body());
    ASSERT_EQ(first.status, 201) << first.body;
    auto r = parse_object(first.body);
    EXPECT_EQ(r.at("version"), 1);
    EXPECT_EQ(r.at("sites"), 2);
    EXPECT_EQ(r.at("standards"), 1);
    EXPECT_EQ(r.at("complaints"), 2);
    EXPECT_EQ(r.at("unchanged"), false);

    auto again = publish(publish_body());
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(parse_object(again.body).at("version"), 1);
    EXPECT_EQ(parse_object(again.body).at("unchanged"), true);

    auto second = publish(publish_body(sites_toml, ""));
    ASSERT_EQ(second.status, 201) << second.body;
    EXPECT_EQ(parse_object(second.body).at("version"), 2);

    auto shown = server_.admin("GET", "/v1/admin/reference");
    ASSERT_EQ(shown.status, 200);
    auto current = parse_object(shown.body);
    EXPECT_EQ(current.at("version"), 2);
    EXPECT_EQ(current.at("sites").as_array().size(), 2u);
    EXPECT_TRUE(current.at("complaints").as_array().empty());
    EXPECT_EQ(current.at("sha256").as_string().size(), 64u);
}

TEST_F(ReferenceApi, EachDeviceGetsItsOwnBundleOrNoContentWhenCurrent) {
    EXPECT_EQ(fetch("hh-1", token1_, "?since=0").status, 204);  // nothing published yet
    ASSERT_EQ(publish(publish_body()).status, 201);

    auto reply = fetch("hh-1", token1_, "?since=0");
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto bundle = config::parse_reference_bundle(reply.body);
    ASSERT_TRUE(bundle) << bundle.error().message();
    EXPECT_EQ(bundle->version, 1);
    EXPECT_EQ(bundle->device_id, "hh-1");
    EXPECT_EQ(bundle->set.data.sites.size(), 2u);
    ASSERT_EQ(bundle->set.complaints.size(), 1u);
    EXPECT_EQ(bundle->set.complaints[0].case_number, "C-1");
    EXPECT_EQ(bundle->set.data.find_site("works-b")->permit_rules.at(0).max, 200);

    auto other = config::parse_reference_bundle(fetch("hh-2", token2_, "").body);
    ASSERT_TRUE(other);
    EXPECT_EQ(other->set.complaints.size(), 2u);

    EXPECT_EQ(fetch("hh-1", token1_, "?since=1").status, 204);
    EXPECT_EQ(fetch("hh-1", token1_, "?since=5").status, 204);
    // Authenticated like every device endpoint.
    EXPECT_EQ(fetch("hh-1", "", "?since=0").status, 401);
    EXPECT_EQ(fetch("hh-1", token2_, "?since=0").status, 401);
    EXPECT_EQ(fetch("hh-1", server_.admin_token(), "?since=0").status, 401);
    auto bad = fetch("hh-1", token1_, "?since=-1");
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(fetch("hh-1", token1_, "?version=1").status, 400);
    EXPECT_EQ(server_.send("POST", "/v1/devices/hh-1/reference", token1_, "{}").status, 405);
}

TEST_F(ReferenceApi, BadInputGetsALocatedErrorAndStoresNothing) {
    auto refused = [&](const std::string& body, int status, std::string_view code) {
        auto reply = publish(body);
        EXPECT_EQ(reply.status, status) << reply.body;
        EXPECT_EQ(error_code(reply), code) << reply.body;
        return error_message(reply);
    };
    EXPECT_THAT(refused(publish_body("[[site]\nid = 1\n"), 422, "invalid_reference"),
                HasSubstr("sites.toml:1:"));
    std::string unknown_standard(sites_toml);
    unknown_standard.replace(unknown_standard.find("TEST/1"), 6, "GB/9");
    EXPECT_THAT(refused(publish_body(unknown_standard), 422, "invalid_reference"),
                HasSubstr("sites.toml:5:1: site.standard: unknown standard class \"GB/9\""));
    std::string wrong_type(sites_toml);
    wrong_type.replace(wrong_type.find("max = 200"), 9, "max = \"200\"");
    EXPECT_THAT(refused(publish_body(wrong_type), 422, "invalid_reference"),
                HasSubstr("sites.toml:12:"));
    std::string stranger(assignments_toml);
    stranger.replace(stranger.find("\"hh-2\"]"), 6, "\"hh-9\"");
    EXPECT_THAT(refused(publish_body(sites_toml, stranger), 422, "invalid_reference"),
                HasSubstr("complaint C-1: device hh-9 is not enrolled"));
    EXPECT_THAT(refused(publish_body(sites_toml, "[[complaint]]\ncase_number = \"X\"\n"), 422,
                        "invalid_reference"),
                HasSubstr("assignments.toml:1:1: complaint.batch_number: missing required key"));
    refused("{\"files\": [", 400, "bad_json");
    refused("{}", 400, "bad_request");
    refused(R"({"files": []})", 400, "bad_request");
    refused(R"({"files": [{"name": "a.toml"}]})", 400, "bad_request");
    refused(R"({"files": [], "dry_run": true})", 400, "bad_request");
    EXPECT_EQ(server_.send("POST", "/v1/admin/reference", token1_, publish_body()).status, 401);
    EXPECT_EQ(current_version(), 0);
    EXPECT_EQ(fetch("hh-1", token1_, "?since=0").status, 204);
}

TEST(SqliteServerStoreReference, VersionsAscendAcrossRestartsAndRepeatsAreNoNewVersion) {
    fieldlog::testing::TempDir dir;
    {
        auto store = open_sqlite_server_store(dir / "server.db");
        ASSERT_TRUE(store) << store.error().to_string();
        EXPECT_FALSE((*store)->latest_reference().value());
        auto a = (*store)->publish_reference("{\"a\":1}", 10);
        ASSERT_TRUE(a);
        EXPECT_EQ(a->published.version, 1);
        EXPECT_FALSE(a->unchanged);
        auto again = (*store)->publish_reference("{\"a\":1}", 20);
        ASSERT_TRUE(again);
        EXPECT_EQ(again->published.version, 1);
        EXPECT_EQ(again->published.published_ms, 10);
        EXPECT_TRUE(again->unchanged);
        ASSERT_EQ((*store)->publish_reference("{\"b\":2}", 30).value().published.version, 2);
    }
    auto store = open_sqlite_server_store(dir / "server.db");
    ASSERT_TRUE(store);
    auto latest = (*store)->latest_reference();
    ASSERT_TRUE(latest && *latest);
    EXPECT_EQ((*latest)->version, 2);
    EXPECT_EQ((*latest)->content, "{\"b\":2}");
    EXPECT_EQ((*latest)->sha256, to_hex(sha256(std::string_view("{\"b\":2}"))));
    EXPECT_EQ((*store)->publish_reference("{\"a\":1}", 40).value().published.version, 3);
}

class ReferenceAdmin : public ReferenceApi {
protected:
    int admin(std::vector<std::string> args, std::string& out, std::string& err) {
        std::vector<std::string> full{"--server",     server_.url(),
                                      "--token-file", server_.config().admin_token_file.string(),
                                      "--timeout",    "20"};
        full.insert(full.end(), args.begin(), args.end());
        std::ostringstream o, e;
        int code = run_admin(full, o, e);
        out = o.str();
        err = e.str();
        return code;
    }
    void write(const std::filesystem::path& path, std::string_view text) {
        std::filesystem::create_directories(path.parent_path());
        ASSERT_TRUE(write_file_atomically(path, text, 0644));
    }
    fieldlog::testing::TempDir files_;
};

TEST_F(ReferenceAdmin, PublishesADirectoryAndShowsTheCurrentVersion) {
    write(files_ / "area" / "sites.toml", sites_toml);
    write(files_ / "area" / "assignments.toml", assignments_toml);
    write(files_ / "area" / "standards" / "test.toml", standards_toml);
    std::string out, err;
    ASSERT_EQ(admin({"reference", "show"}, out, err), 0) << err;
    EXPECT_THAT(out, HasSubstr("no reference data published yet"));
    ASSERT_EQ(admin({"reference", "publish", (files_ / "area").string()}, out, err), 0) << err;
    EXPECT_THAT(out, HasSubstr("published reference data version 1: 2 sites, 1 standard "
                               "classes, 2 assigned complaint cases"));
    ASSERT_EQ(admin({"reference", "publish", (files_ / "area").string()}, out, err), 0) << err;
    EXPECT_THAT(out, HasSubstr("unchanged: the server already holds this reference data as "
                               "version 1"));
    ASSERT_EQ(admin({"reference", "show"}, out, err), 0) << err;
    EXPECT_THAT(out, HasSubstr("reference data version 1, published 2026-"));
    EXPECT_THAT(out, HasSubstr("works-b"));
    EXPECT_THAT(out, HasSubstr("C-2"));
    EXPECT_THAT(out, HasSubstr("to hh-2"));
    ASSERT_EQ(admin({"--json", "reference", "show"}, out, err), 0) << err;
    EXPECT_EQ(parse_object(out).at("version"), 1);
}

// The version each device holds reaches the server as the since= of its next ask.
TEST_F(ReferenceAdmin, DeviceListShowsTheReferenceVersionEachDeviceHolds) {
    auto device = [&](const std::string& id) {
        std::string out, err;
        EXPECT_EQ(admin({"--json", "device", "list"}, out, err), 0) << err;
        const json::object listed = parse_object(out);
        for (const auto& d : listed.at("devices").as_array()) {
            if (d.at("device_id").as_string() == id) return d.as_object();
        }
        ADD_FAILURE() << id << " is not listed: " << out;
        return json::object{};
    };
    ASSERT_EQ(publish(publish_body()).status, 201);
    EXPECT_TRUE(device("hh-1").at("reference_version").is_null());
    EXPECT_TRUE(device("hh-1").at("reference_reported_ms").is_null());

    const std::int64_t t0 = server_.clock().now_ms;
    ASSERT_EQ(fetch("hh-1", token1_, "?since=0").status, 200);
    EXPECT_EQ(device("hh-1").at("reference_version"), 0);
    EXPECT_EQ(device("hh-1").at("reference_reported_ms"), t0);

    // Applied, then reported at the next ask; asking again keeps the first report's time.
    server_.clock().now_ms = t0 + 5000;
    ASSERT_EQ(fetch("hh-1", token1_, "?since=1").status, 204);
    server_.clock().now_ms = t0 + 9000;
    ASSERT_EQ(fetch("hh-1", token1_, "?since=1").status, 204);
    EXPECT_EQ(device("hh-1").at("reference_version"), 1);
    EXPECT_EQ(device("hh-1").at("reference_reported_ms"), t0 + 5000);

    // Refused asks change nothing.
    EXPECT_EQ(fetch("hh-1", token1_, "?since=x").status, 400);
    EXPECT_EQ(fetch("hh-1", token2_, "?since=7").status, 401);
    EXPECT_EQ(device("hh-1").at("reference_version"), 1);
    EXPECT_TRUE(device("hh-2").at("reference_version").is_null());

    std::string out, err;
    ASSERT_EQ(admin({"device", "list"}, out, err), 0) << err;
    EXPECT_THAT(out, HasSubstr("REFERENCE"));
    std::istringstream lines(out);
    std::map<std::string, std::vector<std::string>> rows;
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
        if (!w.empty()) rows[w[0]] = w;
    }
    // DEVICE ACKED HEAD PENDING (three words: "0 (0 B)") WITHHELD REFERENCE ...
    ASSERT_GE(rows["hh-1"].size(), 9u) << out;
    EXPECT_EQ(rows["hh-1"][7], "1") << out;
    ASSERT_GE(rows["hh-2"].size(), 9u) << out;
    EXPECT_EQ(rows["hh-2"][7], "-") << out;
}

TEST_F(ReferenceAdmin, BadFilesGiveTheServersLocatedErrorAndExitStatus) {
    write(files_ / "sites.toml", "[[site]]\nid = \"x\"\nname = \"X\"\nkind = \"volcano\"\n");
    std::string out, err;
    EXPECT_EQ(admin({"reference", "publish", (files_ / "sites.toml").string()}, out, err),
              static_cast<int>(AdminExit::invalid_argument));
    EXPECT_THAT(err, HasSubstr("fieldlog-admin: invalid_reference: "));
    EXPECT_THAT(err, HasSubstr("sites.toml:4:1: site.kind: unknown site kind \"volcano\""));
    EXPECT_EQ(admin({"reference", "publish", (files_ / "missing.toml").string()}, out, err),
              static_cast<int>(AdminExit::usage));
    EXPECT_EQ(current_version(), 0);
}

}  // namespace
}  // namespace fieldlog::server::testing
