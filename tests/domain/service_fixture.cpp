#include "service_fixture.hpp"

#include "fieldlog/config/reference.hpp"
#include "fieldlog/domain/records.hpp"

namespace fieldlog::domain::testing {

void ServiceTest::SetUp() {
    auto src = fieldlog::testing::source_dir();
    auto reference =
        config::load_reference_data(src / "config" / "sites.toml", src / "config" / "standards");
    ASSERT_TRUE(reference) << reference.error().to_string();
    store::StoreOptions options;
    options.data_dir = dir_ / "data";
    options.device_id = "test-device";
    options.wall_clock_ms = [this] { return now_ms_.load(); };
    options.head_sign_interval = head_sign_interval_;
    auto opened = store::Store::open(options, all_record_kinds());
    ASSERT_TRUE(opened) << opened.error().to_string();
    store_ = std::move(*opened);
    ServiceOptions service_options;
    service_options.wall_clock_ms = [this] { return now_ms_.load(); };
    service_options.current_fix = [this] { return fix_; };
    service_options.default_utc_offset_minutes = 8 * 60;
    service_ = std::make_unique<InspectionService>(
        *store_, std::make_shared<const config::ReferenceData>(std::move(*reference)),
        service_options);
}

void ServiceTest::TearDown() {
    service_.reset();
    if (store_) store_->close();
}

Result<boost::json::value> ServiceTest::run(std::string_view op, std::string_view args_json) {
    return service_->execute_sync(op, boost::json::parse(args_json).as_object());
}

boost::json::object ServiceTest::ok(std::string_view op, std::string_view args_json) {
    auto result = run(op, args_json);
    EXPECT_TRUE(result) << op << ": " << (result ? "" : result.error().to_string());
    if (!result || !result->is_object()) return {};
    return result->as_object();
}

std::string ServiceTest::fails(std::string_view op, std::string_view args_json, Errc code) {
    auto result = run(op, args_json);
    EXPECT_FALSE(result) << op << " unexpectedly succeeded";
    if (result) return {};
    EXPECT_EQ(errc_name(result.error().code()), errc_name(code)) << result.error().message();
    return result.error().message();
}

std::int64_t ServiceTest::pending_outbox() {
    auto stats = store_->outbox_stats();
    EXPECT_TRUE(stats);
    return stats ? stats->pending_entries : -1;
}

std::string ServiceTest::start_inspection(std::string_view site) {
    auto result =
        ok("inspection.start",
           R"({"site_id": ")" + std::string(site) +
               R"(", "kind": "wastewater_discharge", "inspectors": ["Li Wei", "Zhang Min"]})");
    return std::string(result.at("inspection").at("id").as_string());
}

}  // namespace fieldlog::domain::testing
