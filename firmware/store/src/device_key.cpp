#include "fieldlog/store/device_key.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include "fieldlog/files.hpp"

namespace fieldlog::store {

namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

Result<PublicKey> raw_public_key(EVP_PKEY* key) {
    PublicKey out{};
    std::size_t len = out.size();
    if (EVP_PKEY_get_raw_public_key(key, out.data(), &len) != 1 || len != out.size()) {
        return Error(Errc::internal, "OpenSSL: cannot read the Ed25519 public key");
    }
    return out;
}

}  // namespace

struct DeviceKey::Impl {
    PkeyPtr key{nullptr, &EVP_PKEY_free};
};

DeviceKey::DeviceKey(std::unique_ptr<Impl> impl, PublicKey public_key)
    : impl_(std::move(impl)), public_key_(public_key) {}
DeviceKey::DeviceKey(DeviceKey&&) noexcept = default;
DeviceKey& DeviceKey::operator=(DeviceKey&&) noexcept = default;
DeviceKey::~DeviceKey() = default;

Result<DeviceKey> DeviceKey::generate() {
    auto impl = std::make_unique<Impl>();
    impl->key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    if (!impl->key) {
        return Error(Errc::internal, "OpenSSL: cannot generate an Ed25519 key");
    }
    auto pub = raw_public_key(impl->key.get());
    if (!pub) {
        return pub.error();
    }
    return DeviceKey(std::move(impl), *pub);
}

Result<DeviceKey> DeviceKey::load_or_create(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        auto key = generate();
        if (!key) {
            return key.error();
        }
        BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
        if (!bio || PEM_write_bio_PrivateKey(bio.get(), key->impl_->key.get(), nullptr, nullptr, 0,
                                             nullptr, nullptr) != 1) {
            return Error(Errc::internal, "OpenSSL: cannot encode the device key");
        }
        char* data = nullptr;
        long len = BIO_get_mem_data(bio.get(), &data);
        auto written = write_file_atomically(
            path, std::string_view(data, static_cast<std::size_t>(len)), 0600);
        if (!written) {
            return written.error();
        }
        return std::move(*key);
    }
    if ((st.st_mode & 077) != 0) {
        return Error(Errc::permission, "device key " + path.string() +
                                           " is readable by others; it must have mode 0600");
    }
    auto pem = read_file(path, 16 * 1024);
    if (!pem) {
        return pem.error();
    }
    BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), &BIO_free);
    auto impl = std::make_unique<Impl>();
    impl->key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!impl->key || EVP_PKEY_get_id(impl->key.get()) != EVP_PKEY_ED25519) {
        return Error(Errc::corrupt,
                     "device key " + path.string() + " is not a PEM Ed25519 private key");
    }
    auto pub = raw_public_key(impl->key.get());
    if (!pub) {
        return pub.error();
    }
    return DeviceKey(std::move(impl), *pub);
}

Signature DeviceKey::sign(std::span<const std::uint8_t> message) const {
    Signature out{};
    MdCtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    std::size_t len = out.size();
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), out.data(), &len, message.data(), message.size()) != 1) {
        throw std::runtime_error("OpenSSL: Ed25519 signing failed");
    }
    return out;
}

Signature DeviceKey::sign(std::string_view message) const {
    return sign(std::span(reinterpret_cast<const std::uint8_t*>(message.data()), message.size()));
}

bool verify_signature(const PublicKey& key, std::string_view message, const Signature& signature) {
    PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size()),
                 &EVP_PKEY_free);
    MdCtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!pkey || !ctx ||
        EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
        return false;
    }
    return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                            reinterpret_cast<const unsigned char*>(message.data()),
                            message.size()) == 1;
}

}  // namespace fieldlog::store
