#include "fieldlog/store/blob_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "fieldlog/digest.hpp"
#include "fieldlog/files.hpp"

namespace fieldlog::store {

std::filesystem::path BlobStore::path_of(std::string_view sha256_hex,
                                         std::string_view extension) const {
    std::string name(sha256_hex);
    name += '.';
    name += extension;
    return root_ / std::string(sha256_hex.substr(0, 2)) / name;
}

bool BlobStore::contains(std::string_view sha256_hex, std::string_view extension) const {
    struct stat st {};
    return ::stat(path_of(sha256_hex, extension).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<StoredBlob> BlobStore::put(std::span<const std::uint8_t> bytes, std::string_view extension) {
    StoredBlob blob{to_hex(sha256(bytes)), bytes.size(), false};
    auto path = path_of(blob.sha256_hex, extension);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<std::uint64_t>(st.st_size) == bytes.size()) {
        blob.already_present = true;
        return blob;
    }
    std::error_code ec;
    auto dir = path.parent_path();
    bool created_dir = std::filesystem::create_directories(dir, ec);
    if (ec) {
        return errno_error(ec.value(), "cannot create blob directory", dir);
    }
    if (created_dir) {
        if (auto synced = fsync_directory(root_); !synced) {
            return synced.error();
        }
    }
    auto written = write_file_atomically(
        path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), 0640);
    if (!written) {
        return written.error();
    }
    return blob;
}

}  // namespace fieldlog::store
