// The device's Ed25519 signing key, which signs the evidence chain head.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "fieldlog/error.hpp"

namespace fieldlog::store {

using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;

class DeviceKey {
public:
    // Loads the PEM private key at path, creating it (mode 0600, fsynced) on first start.
    // A key file readable by group or others is refused: it would let anyone forge heads.
    [[nodiscard]] static Result<DeviceKey> load_or_create(const std::filesystem::path& path);
    [[nodiscard]] static Result<DeviceKey> generate();

    DeviceKey(DeviceKey&&) noexcept;
    DeviceKey& operator=(DeviceKey&&) noexcept;
    ~DeviceKey();

    const PublicKey& public_key() const { return public_key_; }
    Signature sign(std::span<const std::uint8_t> message) const;
    Signature sign(std::string_view message) const;

private:
    struct Impl;
    DeviceKey(std::unique_ptr<Impl> impl, PublicKey public_key);
    std::unique_ptr<Impl> impl_;
    PublicKey public_key_{};
};

bool verify_signature(const PublicKey& key, std::string_view message, const Signature& signature);

}  // namespace fieldlog::store
