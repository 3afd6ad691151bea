#include "fieldlog/digest.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace fieldlog {

namespace {

// OpenSSL 3 looks the algorithm up again on every digest begun with EVP_sha256(), about half
// the cost of hashing a short input such as a chain entry, so it is fetched once per process
// (and never freed: hashing may run until exit). EVP_sha256() stays the fallback should the
// fetch fail.
const EVP_MD* sha256_md() {
    static EVP_MD* const fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
}

}  // namespace

struct Sha256Hasher::Impl {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
};

Sha256Hasher::Sha256Hasher() : impl_(std::make_unique<Impl>()) {
    if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx.get(), sha256_md(), nullptr) != 1) {
        throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
    }
}

Sha256Hasher::~Sha256Hasher() = default;
Sha256Hasher::Sha256Hasher(Sha256Hasher&&) noexcept = default;
Sha256Hasher& Sha256Hasher::operator=(Sha256Hasher&&) noexcept = default;

void Sha256Hasher::update(std::span<const std::uint8_t> data) {
    EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size());
}

void Sha256Hasher::update(std::string_view data) {
    EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size());
}

Sha256 Sha256Hasher::finish() {
    Sha256 out{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(impl_->ctx.get(), out.data(), &len);
    EVP_DigestInit_ex(impl_->ctx.get(), sha256_md(), nullptr);
    return out;
}

Sha256 sha256(std::span<const std::uint8_t> data) {
    // One context per thread, reset by each init rather than allocated per call: the store
    // hashes every record and chain entry it writes.
    thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(
        EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    Sha256 out{};
    unsigned int len = 0;
    if (context && EVP_DigestInit_ex2(context.get(), sha256_md(), nullptr) == 1 &&
        EVP_DigestUpdate(context.get(), data.data(), data.size()) == 1 &&
        EVP_DigestFinal_ex(context.get(), out.data(), &len) == 1) {
        return out;
    }
    EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

Sha256 sha256(std::string_view data) {
    return sha256(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (std::uint8_t b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0x0f]);
    }
    return out;
}

namespace {
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

bool from_hex(std::string_view text, std::span<std::uint8_t> out) {
    if (text.size() != out.size() * 2) {
        return false;
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
        int hi = hex_value(text[2 * i]);
        int lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return true;
}

std::string random_uuid() {
    std::array<std::uint8_t, 16> b{};
    if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
        throw std::runtime_error("OpenSSL: no randomness for a UUID");
    }
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
    std::string hex = to_hex(b);
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
           hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace fieldlog
