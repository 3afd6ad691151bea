// The blob files under data_dir/blobs: complete blobs content-addressed as ab/abcd…, uploads in
// progress as partial/<sha256>.part. Every chunk is fsynced before its offset is recorded, so the
// store's offset never runs ahead of the bytes on disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fieldlog/digest.hpp"
#include "fieldlog/error.hpp"

namespace fieldlog::server {

// A partial file as the file system has it.
struct PartialFile {
    std::int64_t size = 0;
    std::int64_t modified_ms = 0;  // the last chunk's write, in wall-clock milliseconds
};

class BlobArea {
public:
    // Creates dir and dir/partial when missing.
    [[nodiscard]] static Result<BlobArea> open(const std::filesystem::path& dir);

    // Where a complete blob lives, relative to the blob directory.
    static std::string final_name(std::string_view sha256_hex);
    std::filesystem::path resolve(std::string_view relative) const { return dir_ / relative; }

    // Writes data at offset of the upload's partial file, cuts anything beyond it (left by a
    // chunk whose offset was never recorded) and fsyncs.
    [[nodiscard]] Status write_chunk(std::string_view sha256_hex, std::int64_t offset,
                                     std::string_view data);
    // The partial file's size, or nothing when there is none.
    [[nodiscard]] Result<std::optional<std::int64_t>> partial_size(std::string_view sha256_hex);
    // The partial file's size and modification time, or nothing when there is none.
    [[nodiscard]] Result<std::optional<PartialFile>> partial_file(std::string_view sha256_hex);
    // The uploads that have a partial file, by sha256. Other names in the directory are not
    // the server's and are left out.
    [[nodiscard]] Result<std::vector<std::string>> partial_uploads() const;
    // SHA-256 of the first length bytes of the partial file.
    [[nodiscard]] Result<Sha256> hash_partial(std::string_view sha256_hex, std::int64_t length);
    // SHA-256 of a complete blob, or nothing when its file is missing.
    [[nodiscard]] Result<std::optional<Sha256>> hash_final(std::string_view sha256_hex);
    // Moves a verified partial file to its content address, durably.
    [[nodiscard]] Status promote(std::string_view sha256_hex);
    // Removes an upload's partial file, if any.
    [[nodiscard]] Status discard(std::string_view sha256_hex);

private:
    explicit BlobArea(std::filesystem::path dir) : dir_(std::move(dir)) {}
    std::filesystem::path partial_path(std::string_view sha256_hex) const;

    std::filesystem::path dir_;
};

}  // namespace fieldlog::server
