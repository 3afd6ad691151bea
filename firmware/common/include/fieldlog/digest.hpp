// SHA-256 digests and hex text, the form in which fieldlog names evidence.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace fieldlog {

using Sha256 = std::array<std::uint8_t, 32>;

Sha256 sha256(std::span<const std::uint8_t> data);
Sha256 sha256(std::string_view data);

// Incremental hashing for files and streams too large to hold at once.
class Sha256Hasher {
public:
    Sha256Hasher();
    ~Sha256Hasher();
    Sha256Hasher(Sha256Hasher&&) noexcept;
    Sha256Hasher& operator=(Sha256Hasher&&) noexcept;

    void update(std::span<const std::uint8_t> data);
    void update(std::string_view data);
    Sha256 finish();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

std::string to_hex(std::span<const std::uint8_t> bytes);
// Returns false when text is not an even-length run of hex digits of the right size.
bool from_hex(std::string_view text, std::span<std::uint8_t> out);

// Random 128-bit identifier in the RFC 4122 version-4 text form.
std::string random_uuid();

}  // namespace fieldlog
