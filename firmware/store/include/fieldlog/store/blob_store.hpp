// Content-addressed files (evidence photos): one durable copy per SHA-256.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "fieldlog/error.hpp"

namespace fieldlog::store {

struct StoredBlob {
    std::string sha256_hex;
    std::uint64_t size = 0;
    bool already_present = false;
};

class BlobStore {
public:
    explicit BlobStore(std::filesystem::path root) : root_(std::move(root)) {}

    // Writes bytes under their hash and makes them durable (file and directory fsynced)
    // before returning, so a record may then commit that names them.
    [[nodiscard]] Result<StoredBlob> put(std::span<const std::uint8_t> bytes,
                                         std::string_view extension);
    std::filesystem::path path_of(std::string_view sha256_hex, std::string_view extension) const;
    bool contains(std::string_view sha256_hex, std::string_view extension) const;

private:
    std::filesystem::path root_;
};

}  // namespace fieldlog::store
