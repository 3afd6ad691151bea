#include "fieldlog/store/device_key.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "fieldlog/files.hpp"
#include "temp_dir.hpp"

namespace fieldlog::store {
namespace {

TEST(DeviceKey, CreatesKeyWithOwnerOnlyModeAndReloadsSameKey) {
    testing::TempDir dir;
    auto first = DeviceKey::load_or_create(dir / "device.key");
    ASSERT_TRUE(first);
    struct stat st {};
    ASSERT_EQ(::stat((dir / "device.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto again = DeviceKey::load_or_create(dir / "device.key");
    ASSERT_TRUE(again);
    EXPECT_EQ(first->public_key(), again->public_key());
}

TEST(DeviceKey, RefusesKeyReadableByOthers) {
    testing::TempDir dir;
    ASSERT_TRUE(DeviceKey::load_or_create(dir / "device.key"));
    ASSERT_EQ(::chmod((dir / "device.key").c_str(), 0644), 0);
    auto key = DeviceKey::load_or_create(dir / "device.key");
    ASSERT_FALSE(key);
    EXPECT_EQ(key.error().code(), Errc::permission);
}

TEST(DeviceKey, RefusesFileThatIsNotAKey) {
    testing::TempDir dir;
    ASSERT_TRUE(write_file_atomically(dir / "device.key", "not a key", 0600));
    auto key = DeviceKey::load_or_create(dir / "device.key");
    ASSERT_FALSE(key);
    EXPECT_EQ(key.error().code(), Errc::corrupt);
    EXPECT_NE(key.error().message().find("device.key"), std::string::npos);
}

TEST(DeviceKey, SignatureVerifiesOnlyWithItsOwnKeyAndMessage) {
    auto a = DeviceKey::generate();
    auto b = DeviceKey::generate();
    ASSERT_TRUE(a && b);
    auto sig = a->sign(std::string_view("head"));
    EXPECT_TRUE(verify_signature(a->public_key(), "head", sig));
    EXPECT_FALSE(verify_signature(b->public_key(), "head", sig));
    EXPECT_FALSE(verify_signature(a->public_key(), "head2", sig));
}

}  // namespace
}  // namespace fieldlog::store
