// Reference data downloaded from the office: applied in one transaction, used instead of the
// config files' for judging, refused whole when anything about it is wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "fieldlog/config/reference_set.hpp"
#include "fieldlog/domain/records.hpp"
#include "fieldlog/domain/reference_store.hpp"
#include "service_fixture.hpp"

namespace fieldlog::domain::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

constexpr std::string_view standards_toml = R"([[class]]
id = "TEST/1"
title = "Test class"
limits = [ { parameter = "COD", max = 50, unit = "mg/L" } ]
)";

constexpr std::string_view new_plant_toml = R"([[site]]
id = "new-plant"
name = "New Plant"
kind = "wastewater_treatment_plant"
standard = "TEST/1"
permit = "P-1"
permit_limits = [ { parameter = "COD", max = 30, unit = "mg/L" } ]
)";

constexpr std::string_view two_plants_toml = R"([[site]]
id = "plant-x"
name = "Plant X"
kind = "wastewater_treatment_plant"
standard = "TEST/1"

[[site]]
id = "plant-y"
name = "Plant Y"
kind = "industrial_enterprise"
)";

constexpr std::string_view assignments_toml = R"([[complaint]]
case_number = "C-9"
batch_number = 5
summary = "Dark water at the outfall"
received = 2026-11-24T08:00:00Z
responsible_unit = "District bureau"
site = "new-plant"
devices = ["test-device", "other-device"]

[[complaint]]
case_number = "C-10"
batch_number = 5
devices = ["other-device"]
)";

class ReferenceTest : public ServiceTest {
protected:
    config::ReferenceSet set_of(std::string_view sites, std::string_view assignments = {}) {
        std::vector<config::SourceFile> files{{"standards.toml", std::string(standards_toml)},
                                              {"sites.toml", std::string(sites)}};
        if (!assignments.empty()) {
            files.push_back({"assignments.toml", std::string(assignments)});
        }
        auto set = config::parse_reference_files(files);
        EXPECT_TRUE(set) << (set ? "" : set.error().message());
        return set ? std::move(*set) : config::ReferenceSet{};
    }

    std::string bundle(std::int64_t version, std::string_view sites,
                       std::string_view assignments = {},
                       const std::string& device = "test-device") {
        return config::make_reference_bundle(version, 1795500000000, device,
                                             set_of(sites, assignments));
    }

    Result<std::int64_t> apply(std::string body) {
        std::promise<Result<std::int64_t>> promise;
        auto future = promise.get_future();
        service_->apply_reference_bundle(
            std::move(body), [&](Result<std::int64_t> r) { promise.set_value(std::move(r)); });
        return future.get();
    }

    std::vector<std::string> site_ids() {
        std::vector<std::string> out;
        const json::object list = ok("site.list");
        for (const auto& s : list.at("sites").as_array()) {
            out.emplace_back(s.at("id").as_string());
        }
        return out;
    }

    std::vector<std::string> log_events() {
        std::vector<std::string> out;
        const json::object logs = ok("logs");
        for (const auto& e : logs.at("entries").as_array()) {
            out.push_back(std::string(e.at("event").as_string()) + ": " +
                          std::string(e.at("message").as_string()));
        }
        return out;
    }

    std::int64_t rows(std::string_view sql) {
        std::int64_t n = -1;
        auto done = store_->read([&](store::Database& db) -> Result<json::value> {
            auto stmt = db.prepare(sql);
            if (!stmt) return stmt.error();
            auto row = (*stmt)->step();
            if (!row) return row.error();
            n = (*stmt)->int64(0);
            (*stmt)->reset();
            return json::value();
        });
        EXPECT_TRUE(done);
        return n;
    }
};

TEST_F(ReferenceTest, AnAppliedVersionTakesThePlaceOfTheConfigFiles) {
    EXPECT_THAT(site_ids(), ::testing::Contains("wwtp-east"));
    EXPECT_EQ(ok("status").at("reference").at("source"), "config_files");
    const std::int64_t outbox_before = pending_outbox();

    auto applied = apply(bundle(1, new_plant_toml));
    ASSERT_TRUE(applied) << applied.error().message();
    EXPECT_EQ(*applied, 1);
    EXPECT_EQ(service_->office_reference_version(), 1);
    EXPECT_EQ(site_ids(), std::vector<std::string>{"new-plant"});

    // The inspector starts at the new site, and a reading is judged by its downloaded limit.
    fails("inspection.start",
          R"({"site_id": "wwtp-east", "kind": "wastewater_discharge", "inspectors": ["A"]})",
          Errc::not_found);
    start_inspection("new-plant");
    auto m = ok("measurement.add", R"({"parameter": "COD", "value": 45, "unit": "mg/L"})")
                 .at("measurement");
    EXPECT_EQ(m.at("verdict"), "exceeds");
    EXPECT_EQ(m.at("limit_max").as_double(), 30);
    EXPECT_EQ(m.at("limit_source"), "permit P-1");
    EXPECT_DOUBLE_EQ(m.at("exceedance_ratio").as_double(), 0.5);

    auto reference = ok("status").at("reference").as_object();
    EXPECT_EQ(reference.at("source"), "office");
    EXPECT_EQ(reference.at("version"), 1);
    EXPECT_EQ(reference.at("sites"), 1);
    EXPECT_EQ(reference.at("sha256").as_string().size(), 64u);
    // The device log records the version, in the same transaction, and it goes to the office.
    EXPECT_THAT(log_events(), ::testing::Contains(HasSubstr(
                                  "reference_applied: reference data version 1 from the office")));
    EXPECT_GT(pending_outbox(), outbox_before);
}

TEST_F(ReferenceTest, OlderSameOtherDeviceAndAlteredBundlesAreRefusedAndChangeNothing) {
    ASSERT_TRUE(apply(bundle(2, new_plant_toml)));
    const std::int64_t logs_before = rows("SELECT COUNT(*) FROM device_log");
    auto refused = [&](std::string body, Errc code) {
        auto r = apply(std::move(body));
        EXPECT_FALSE(r);
        if (r) return std::string();
        EXPECT_EQ(errc_name(r.error().code()), errc_name(code)) << r.error().message();
        return r.error().message();
    };
    EXPECT_THAT(refused(bundle(2, two_plants_toml), Errc::conflict),
                HasSubstr("version 2 is not newer than version 2"));
    EXPECT_THAT(refused(bundle(1, two_plants_toml), Errc::conflict), HasSubstr("not newer"));
    EXPECT_THAT(refused(bundle(3, two_plants_toml, {}, "other-device"), Errc::invalid_argument),
                HasSubstr("for device 'other-device'"));
    std::string altered = bundle(3, two_plants_toml);
    altered.replace(altered.find("Plant X"), 7, "Plant Q");
    EXPECT_THAT(refused(altered, Errc::invalid_argument), HasSubstr("altered or cut short"));
    EXPECT_THAT(refused(altered.substr(0, 100), Errc::invalid_argument),
                HasSubstr("not valid JSON"));

    EXPECT_EQ(service_->office_reference_version(), 2);
    EXPECT_EQ(site_ids(), std::vector<std::string>{"new-plant"});
    EXPECT_EQ(rows("SELECT version FROM reference_version"), 2);
    EXPECT_EQ(rows("SELECT COUNT(*) FROM device_log"), logs_before);
}

TEST_F(ReferenceTest, AnApplyThatFailsHalfwayLeavesThePreviousVersionWhole) {
    ASSERT_TRUE(apply(bundle(1, new_plant_toml, assignments_toml)));
    const std::int64_t limit_rows = rows("SELECT COUNT(*) FROM reference_limits");

    // Version 2 replaces every table, and its last row breaks a constraint: the same case
    // twice. Everything written before it (sites, limits, the deletions) must roll back.
    auto parsed = config::parse_reference_bundle(bundle(2, two_plants_toml));
    ASSERT_TRUE(parsed);
    config::ReferenceBundle broken = std::move(*parsed);
    config::AssignedComplaint twice;
    twice.case_number = "D-1";
    twice.batch_number = 1;
    broken.set.complaints = {twice, twice};
    auto written = store_->write([&](store::WriteContext& ctx) -> Result<json::value> {
        if (auto saved = save_reference(ctx.db(), broken, ctx.now_ms()); !saved) {
            return saved.error();
        }
        return json::value();
    });
    ASSERT_FALSE(written);
    EXPECT_EQ(written.error().code(), Errc::conflict) << written.error().message();

    EXPECT_EQ(rows("SELECT version FROM reference_version"), 1);
    EXPECT_EQ(rows("SELECT COUNT(*) FROM reference_sites WHERE id = 'new-plant'"), 1);
    EXPECT_EQ(rows("SELECT COUNT(*) FROM reference_sites"), 1);
    EXPECT_EQ(rows("SELECT COUNT(*) FROM reference_standards"), 1);
    EXPECT_EQ(rows("SELECT COUNT(*) FROM reference_limits"), limit_rows);
    EXPECT_EQ(rows("SELECT COUNT(*) FROM reference_complaints"), 1);
    std::optional<StoredReference> stored;
    ASSERT_TRUE(store_->read([&](store::Database& db) -> Result<json::value> {
        auto loaded = load_reference(db);
        if (!loaded) return loaded.error();
        stored = std::move(*loaded);
        return json::value();
    }));
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->version.version, 1);
    EXPECT_EQ(
        config::reference_set_json(stored->set),
        config::reference_set_json(
            config::parse_reference_bundle(bundle(1, new_plant_toml, assignments_toml))->set));
}

TEST_F(ReferenceTest, TheAppliedVersionIsUsedAgainAfterARestart) {
    auto applied = apply(bundle(4, two_plants_toml));
    ASSERT_TRUE(applied) << applied.error().message();
    service_.reset();
    store_->close();
    store_.reset();

    store::StoreOptions options;
    options.data_dir = dir_ / "data";
    options.device_id = "test-device";
    options.wall_clock_ms = [this] { return now_ms_.load(); };
    auto opened = store::Store::open(options, all_record_kinds());
    ASSERT_TRUE(opened) << opened.error().to_string();
    store_ = std::move(*opened);
    auto src = fieldlog::testing::source_dir() / "config";
    auto files = config::load_reference_data(src / "sites.toml", src / "standards");
    ASSERT_TRUE(files);
    service_ = std::make_unique<InspectionService>(
        *store_, std::make_shared<const config::ReferenceData>(std::move(*files)),
        ServiceOptions{});
    EXPECT_THAT(site_ids(), ::testing::Contains("wwtp-east"));
    ASSERT_TRUE(service_->load_office_reference());
    EXPECT_EQ(service_->office_reference_version(), 4);
    EXPECT_EQ(site_ids(), (std::vector<std::string>{"plant-x", "plant-y"}));
    // A reload of the config files does not push the office's data aside.
    service_->replace_reference(std::make_shared<const config::ReferenceData>());
    EXPECT_EQ(site_ids(), (std::vector<std::string>{"plant-x", "plant-y"}));
}

TEST_F(ReferenceTest, AssignedCasesAreListedAndFillInComplaintAdd) {
    ASSERT_TRUE(apply(bundle(1, new_plant_toml, assignments_toml)));
    auto list = ok("complaint.list");
    EXPECT_TRUE(list.at("complaints").as_array().empty());
    ASSERT_EQ(list.at("assigned").as_array().size(), 1u);  // C-10 is another device's
    const auto& assigned = list.at("assigned").as_array()[0].as_object();
    EXPECT_EQ(assigned.at("case_number"), "C-9");
    EXPECT_EQ(assigned.at("batch_number"), 5);
    EXPECT_EQ(assigned.at("site_name"), "New Plant");
    EXPECT_EQ(assigned.at("received_ms"), 1795507200000);

    auto complaint = ok("complaint.add", R"({"case_number": "C-9"})").at("complaint");
    EXPECT_EQ(complaint.at("batch_number"), 5);
    EXPECT_EQ(complaint.at("summary"), "Dark water at the outfall");
    EXPECT_EQ(complaint.at("received_ms"), 1795507200000);
    EXPECT_EQ(complaint.at("responsible_unit"), "District bureau");
    list = ok("complaint.list");
    EXPECT_EQ(list.at("complaints").as_array().size(), 1u);
    EXPECT_TRUE(list.at("assigned").as_array().empty());

    EXPECT_THAT(fails("complaint.add", R"({"case_number": "C-10"})", Errc::invalid_argument),
                HasSubstr("batch_number: required"));
    ok("complaint.add", R"({"case_number": "C-10", "batch_number": 6})");
}

}  // namespace
}  // namespace fieldlog::domain::testing
