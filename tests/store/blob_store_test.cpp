#include "fieldlog/store/blob_store.hpp"

#include <gtest/gtest.h>

#include "fieldlog/digest.hpp"
#include "fieldlog/files.hpp"
#include "temp_dir.hpp"

namespace fieldlog::store {
namespace {

std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

TEST(BlobStore, StoresOneCopyPerHash) {
    testing::TempDir dir;
    BlobStore blobs(dir / "blobs");
    auto data = bytes_of("photo bytes");
    auto first = blobs.put(data, "jpg");
    ASSERT_TRUE(first);
    EXPECT_FALSE(first->already_present);
    EXPECT_EQ(first->sha256_hex, to_hex(sha256("photo bytes")));
    auto second = blobs.put(data, "jpg");
    ASSERT_TRUE(second);
    EXPECT_TRUE(second->already_present);
    auto path = blobs.path_of(first->sha256_hex, "jpg");
    EXPECT_EQ(read_file(path, 1024).value(), "photo bytes");
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir / "blobs")) {
        files += entry.is_regular_file() ? 1 : 0;
    }
    EXPECT_EQ(files, 1u);
}

TEST(BlobStore, RewritesTruncatedCopy) {
    testing::TempDir dir;
    BlobStore blobs(dir / "blobs");
    auto data = bytes_of("complete content");
    auto stored = blobs.put(data, "jpg");
    ASSERT_TRUE(stored);
    ASSERT_TRUE(write_file_atomically(blobs.path_of(stored->sha256_hex, "jpg"), "compl", 0640));
    auto again = blobs.put(data, "jpg");
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->already_present);
    EXPECT_EQ(read_file(blobs.path_of(stored->sha256_hex, "jpg"), 1024).value(),
              "complete content");
}

}  // namespace
}  // namespace fieldlog::store
