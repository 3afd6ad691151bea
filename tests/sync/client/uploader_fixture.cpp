#include "uploader_fixture.hpp"

#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <fstream>

#include "fieldlog/config/reference.hpp"
#include "fieldlog/domain/records.hpp"
#include "jpeg_fixture.hpp"

namespace fieldlog::sync::client::testing {

namespace json = boost::json;

UploaderTest::UploaderTest() : work_(boost::asio::make_work_guard(io_)) {}

void UploaderTest::SetUp() {
    auto src = fieldlog::testing::source_dir();
    auto reference =
        config::load_reference_data(src / "config" / "sites.toml", src / "config" / "standards");
    ASSERT_TRUE(reference) << reference.error().to_string();
    store::StoreOptions options;
    options.data_dir = dir_ / "data";
    options.device_id = std::string(device_id);
    auto opened = store::Store::open(options, domain::all_record_kinds());
    ASSERT_TRUE(opened) << opened.error().to_string();
    store_ = std::move(*opened);
    service_ = std::make_unique<domain::InspectionService>(
        *store_, std::make_shared<const config::ReferenceData>(std::move(*reference)),
        domain::ServiceOptions{});
    office_ = std::make_unique<FakeOffice>(std::string(device_id), std::string(device_token));
    std::ofstream(dir_ / "device.token") << device_token << "\n";
    ::chmod((dir_ / "device.token").c_str(), 0600);
}

void UploaderTest::TearDown() {
    uploader_.reset();
    if (store_) store_->close();
    office_.reset();
}

config::SyncConfig UploaderTest::sync_config() const {
    config::SyncConfig c;
    c.enabled = true;
    c.url = office_->url();
    c.allow_plain_http = true;
    c.token_file = dir_ / "device.token";
    c.batch_max_entries = 100;
    c.batch_max_age = std::chrono::milliseconds(50);
    c.chunk_bytes = chunk;
    c.retry_initial = std::chrono::milliseconds(10);
    c.retry_max = std::chrono::milliseconds(40);
    c.probe_interval = std::chrono::milliseconds(20);
    c.request_timeout = std::chrono::milliseconds(5000);
    return c;
}

void UploaderTest::make_uploader(config::SyncConfig config) {
    UploaderOptions options;
    options.config = std::move(config);
    options.random_seed = 42;
    options.device_log = [this](std::string_view level, std::string_view event,
                                std::string message) {
        device_log_.push_back(std::string(level) + " " + std::string(event) + ": " + message);
    };
    auto made = Uploader::create(io_, *store_, std::move(options));
    ASSERT_TRUE(made) << made.error().to_string();
    uploader_ = std::move(*made);
}

bool UploaderTest::run_until(const std::function<bool()>& done,
                             std::chrono::milliseconds deadline) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= until) return false;
        io_.run_for(std::chrono::milliseconds(5));
    }
    return true;
}

Result<json::value> UploaderTest::sync_and_wait() {
    std::optional<Result<json::value>> answer;
    uploader_->request_sync(true, [&](Result<json::value> r) { answer = std::move(r); });
    if (!run_until([&] { return answer.has_value(); })) {
        return Error(Errc::unavailable, "the sync request got no answer in time");
    }
    return std::move(*answer);
}

std::string UploaderTest::start_inspection() {
    auto result = service_->execute_sync(
        "inspection.start", json::parse(R"({"site_id": "wwtp-east", "kind": "wastewater_discharge",
                        "inspectors": ["Li Wei"]})")
                                .as_object());
    EXPECT_TRUE(result) << (result ? "" : result.error().to_string());
    if (!result) return {};
    return std::string(result->at("inspection").at("id").as_string());
}

void UploaderTest::add_measurement(double value) {
    auto result = service_->execute_sync(
        "measurement.add", json::object{{"parameter", "COD"}, {"value", value}, {"unit", "mg/L"}});
    EXPECT_TRUE(result) << (result ? "" : result.error().to_string());
}

std::string UploaderTest::add_photo(std::uint32_t seed) {
    fieldlog::testing::JpegFixture fixture;
    fixture.seed = seed;
    fixture.width = 96;
    fixture.height = 96;
    auto path = dir_ / ("IMG_" + std::to_string(seed) + ".jpg");
    fieldlog::testing::write_test_jpeg(path, fixture);
    auto result = service_->execute_sync("photo.add", json::object{{"path", path.string()}});
    EXPECT_TRUE(result) << (result ? "" : result.error().to_string());
    if (!result) return {};
    return std::string(result->at("photo").at("sha256").as_string());
}

std::int64_t UploaderTest::pending_entries() {
    auto stats = store_->outbox_stats();
    EXPECT_TRUE(stats);
    return stats ? stats->pending_entries : -1;
}

std::int64_t UploaderTest::parked_rows() {
    std::int64_t n = -1;
    auto done = store_->read([&](store::Database& db) -> Result<json::value> {
        auto stmt = db.prepare("SELECT COUNT(*) FROM parked_entries");
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

}  // namespace fieldlog::sync::client::testing
