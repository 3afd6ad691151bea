#include <gtest/gtest.h>

#include "fieldlog/config/reference.hpp"
#include "fieldlog/domain/records.hpp"
#include "fieldlog/files.hpp"
#include "jpeg_fixture.hpp"
#include "service_fixture.hpp"

namespace fieldlog::domain::testing {
namespace {

namespace json = boost::json;

class PhotoTest : public ServiceTest {
protected:
    std::string add(const std::filesystem::path& path, std::string extra = "") {
        return R"({"path": ")" + path.string() + R"(", "tags": ["unlabeled drums"])" + extra + "}";
    }
    std::size_t blob_files() {
        std::size_t n = 0;
        for (const auto& e :
             std::filesystem::recursive_directory_iterator(dir_ / "data" / "blobs")) {
            n += e.is_regular_file() ? 1 : 0;
        }
        return n;
    }
};

TEST_F(PhotoTest, ReadsExifTimeAndPositionAndStoresHashedCopy) {
    start_inspection("hw-store-c7");
    fieldlog::testing::JpegFixture fixture;
    fixture.exif_datetime = "2026:11:25 10:04:05";
    fixture.lat = 32.05;
    fixture.lon = 120.91;
    fieldlog::testing::write_test_jpeg(dir_ / "IMG_0001.jpg", fixture);
    auto photo = ok("photo.add", add(dir_ / "IMG_0001.jpg", R"(, "caption": "Drums by gate")"))
                     .at("photo")
                     .as_object();
    // No EXIF offset: the configured +08:00 applies, so 10:04:05 local is 02:04:05 UTC.
    EXPECT_EQ(photo.at("capture_time_ms").as_int64(), now_ms_ + (2 * 3600 + 4 * 60 + 5) * 1000);
    EXPECT_NEAR(photo.at("exif_lat").as_double(), 32.05, 1e-6);
    EXPECT_NEAR(photo.at("exif_lon").as_double(), 120.91, 1e-6);
    EXPECT_EQ(photo.at("original_name").as_string(), "IMG_0001.jpg");
    EXPECT_EQ(photo.at("tags").as_array().size(), 1u);
    auto stored = read_file(dir_ / "data" / "blobs" /
                                std::string(photo.at("sha256").as_string()).substr(0, 2) /
                                (std::string(photo.at("sha256").as_string()) + ".jpg"),
                            1 << 20);
    ASSERT_TRUE(stored);
    EXPECT_EQ(*stored, read_file(dir_ / "IMG_0001.jpg", 1 << 20).value());
}

TEST_F(PhotoTest, SameImageIsStoredOnceAndNotRecordedTwiceInOneInspection) {
    start_inspection("hw-store-c7");
    fieldlog::testing::write_test_jpeg(dir_ / "a.jpg", {});
    fieldlog::testing::JpegFixture other_pixels;
    other_pixels.seed = 7;
    fieldlog::testing::write_test_jpeg(dir_ / "b.jpg", other_pixels);
    auto first = ok("photo.add", add(dir_ / "a.jpg"));
    EXPECT_FALSE(first.at("duplicate").as_bool());
    auto again = ok("photo.add", add(dir_ / "a.jpg"));
    EXPECT_TRUE(again.at("duplicate").as_bool());
    EXPECT_EQ(again.at("photo").at("id"), first.at("photo").at("id"));
    ok("photo.add", add(dir_ / "b.jpg"));
    EXPECT_EQ(blob_files(), 2u);

    ok("inspection.close");
    start_inspection("yard-north");
    auto other = ok("photo.add", add(dir_ / "a.jpg"));
    EXPECT_FALSE(other.at("duplicate").as_bool());
    EXPECT_EQ(blob_files(), 2u);
    EXPECT_EQ(ok("status").at("counts").at("photos").as_int64(), 3);
}

TEST_F(PhotoTest, FileThatIsNotAJpegIsRefusedAndNothingIsStored) {
    start_inspection("hw-store-c7");
    ASSERT_TRUE(write_file_atomically(dir_ / "notes.jpg", "just some text\n", 0644));
    auto before = pending_outbox();
    auto message = fails("photo.add", add(dir_ / "notes.jpg"), Errc::invalid_argument);
    EXPECT_NE(message.find("not a JPEG"), std::string::npos);
    EXPECT_EQ(pending_outbox(), before);
    EXPECT_FALSE(std::filesystem::exists(dir_ / "data" / "blobs"));
}

TEST_F(PhotoTest, NameWithPathTraversalIsRefused) {
    start_inspection("hw-store-c7");
    fieldlog::testing::write_test_jpeg(dir_ / "a.jpg", {});
    auto message = fails("photo.add", add(dir_ / "a.jpg", R"(, "name": "../../etc/cron.d/x")"),
                         Errc::invalid_argument);
    EXPECT_NE(message.find("path separator"), std::string::npos);
    fails("photo.add", R"({"path": "relative/a.jpg"})", Errc::invalid_argument);
    fails("photo.add", add(dir_ / "missing.jpg"), Errc::not_found);
}

TEST_F(PhotoTest, OversizePhotoIsRefused) {
    start_inspection("hw-store-c7");
    store_->close();
    store_.reset();
    service_.reset();
    // A fresh service with a tiny photo cap over the same store directory.
    store::StoreOptions options;
    options.data_dir = dir_ / "data";
    options.device_id = "test-device";
    auto opened = store::Store::open(options, all_record_kinds());
    ASSERT_TRUE(opened);
    store_ = std::move(*opened);
    auto src = fieldlog::testing::source_dir();
    ServiceOptions small;
    small.max_photo_bytes = 100;
    service_ = std::make_unique<InspectionService>(
        *store_,
        std::make_shared<const config::ReferenceData>(
            config::load_reference_data(src / "config" / "sites.toml", src / "config" / "standards")
                .value()),
        small);
    fieldlog::testing::write_test_jpeg(dir_ / "a.jpg", {});
    fails("photo.add", add(dir_ / "a.jpg"), Errc::too_large);
}

}  // namespace
}  // namespace fieldlog::domain::testing
