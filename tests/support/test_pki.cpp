#include "test_pki.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "fieldlog/files.hpp"

namespace fieldlog::testing {

namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("OpenSSL: ") + what);
}

PkeyPtr new_key() {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), &EVP_PKEY_free);
    check(key != nullptr, "EC key generation");
    return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    check(ext != nullptr, "extension");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

enum class Role { ca, server, client };

// A certificate for key, signed by issuer_key (self-signed when issuer is null).
X509Ptr make_cert(EVP_PKEY* key, const char* common_name, X509* issuer, EVP_PKEY* issuer_key,
                  Role role, long serial) {
    X509Ptr cert(X509_new(), &X509_free);
    check(cert != nullptr, "X509_new");
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    // An hour back tolerates a test machine whose clock is a little behind.
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
    X509* signer = issuer != nullptr ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    if (role == Role::ca) {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
    } else {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
        add_extension(cert.get(), signer, NID_ext_key_usage,
                      role == Role::server ? "serverAuth" : "clientAuth");
        if (role == Role::server) {
            add_extension(cert.get(), signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
        }
    }
    check(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0,
          "X509_sign");
    return cert;
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(len));
}

void write_pem(const std::filesystem::path& path, X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
    check(bio != nullptr && PEM_write_bio_X509(bio.get(), cert) == 1, "PEM certificate");
    if (!write_file_atomically(path, bio_text(bio.get()), 0644)) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

void write_pem(const std::filesystem::path& path, EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
    check(bio != nullptr &&
              PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "PEM key");
    if (!write_file_atomically(path, bio_text(bio.get()), 0600)) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

}  // namespace

TestPki::TestPki(const std::filesystem::path& dir)
    : ca(dir / "ca.pem"),
      other_ca(dir / "other-ca.pem"),
      server_cert(dir / "server.crt"),
      server_key(dir / "server.key"),
      client_cert(dir / "client.crt"),
      client_key(dir / "client.key"),
      stranger_cert(dir / "stranger.crt") {
    std::filesystem::create_directories(dir);
    PkeyPtr ca_key = new_key();
    X509Ptr ca_cert = make_cert(ca_key.get(), "fieldlog test CA", nullptr, nullptr, Role::ca, 1);
    PkeyPtr server_private = new_key();
    X509Ptr server =
        make_cert(server_private.get(), "127.0.0.1", ca_cert.get(), ca_key.get(), Role::server, 2);
    PkeyPtr other_key = new_key();
    X509Ptr other = make_cert(other_key.get(), "some other CA", nullptr, nullptr, Role::ca, 3);
    PkeyPtr client_private = new_key();
    X509Ptr client = make_cert(client_private.get(), "handheld-01", ca_cert.get(), ca_key.get(),
                               Role::client, 4);
    X509Ptr stranger = make_cert(client_private.get(), "handheld-99", other.get(), other_key.get(),
                                 Role::client, 5);
    write_pem(ca, ca_cert.get());
    write_pem(other_ca, other.get());
    write_pem(server_cert, server.get());
    write_pem(server_key, server_private.get());
    write_pem(client_cert, client.get());
    write_pem(client_key, client_private.get());
    write_pem(stranger_cert, stranger.get());
}

}  // namespace fieldlog::testing
