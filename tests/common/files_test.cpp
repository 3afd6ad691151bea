#include "fieldlog/files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "temp_dir.hpp"

namespace fieldlog {
namespace {

TEST(Files, AtomicWriteReplacesContentWithGivenMode) {
    testing::TempDir dir;
    auto path = dir / "key";
    ASSERT_TRUE(write_file_atomically(path, "first", 0600));
    ASSERT_TRUE(write_file_atomically(path, "second", 0600));
    auto content = read_file(path, 100);
    ASSERT_TRUE(content);
    EXPECT_EQ(*content, "second");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_FALSE(std::filesystem::exists(dir / "key.tmp"));
}

TEST(Files, ReadRefusesOversizeAndMissingFiles) {
    testing::TempDir dir;
    ASSERT_TRUE(write_file_atomically(dir / "big", std::string(100, 'x'), 0644));
    auto big = read_file(dir / "big", 10);
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().code(), Errc::too_large);
    auto missing = read_file(dir / "absent", 10);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), Errc::not_found);
    auto directory = read_file(dir.path(), 10);
    ASSERT_FALSE(directory);
    EXPECT_EQ(directory.error().code(), Errc::invalid_argument);
}

}  // namespace
}  // namespace fieldlog
