// HTTPS: a throwaway CA and server certificate made here with OpenSSL; clients verify the
// server against the CA, and one trusting another CA is refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/json/serialize.hpp>
#include <memory>
#include <stdexcept>

#include "fieldlog/files.hpp"
#include "server_harness.hpp"

namespace fieldlog::server::testing {
namespace {

using ::testing::HasSubstr;

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

std::string pem_of(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
    check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM certificate");
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

std::string pem_of(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
    check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "PEM key");
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

class TlsTest : public ::testing::Test {
protected:
    TlsTest() {
        PkeyPtr ca_key = new_key();
        X509Ptr ca = make_cert(ca_key.get(), "fieldlog test CA", nullptr, nullptr, Role::ca, 1);
        PkeyPtr server_key = new_key();
        X509Ptr cert =
            make_cert(server_key.get(), "127.0.0.1", ca.get(), ca_key.get(), Role::server, 2);
        PkeyPtr other_key = new_key();
        X509Ptr other_ca =
            make_cert(other_key.get(), "some other CA", nullptr, nullptr, Role::ca, 3);
        PkeyPtr client_key = new_key();
        X509Ptr client =
            make_cert(client_key.get(), "handheld-01", ca.get(), ca_key.get(), Role::client, 4);
        X509Ptr stranger = make_cert(client_key.get(), "handheld-99", other_ca.get(),
                                     other_key.get(), Role::client, 5);
        write_file_atomically(dir_ / "ca.pem", pem_of(ca.get()), 0644).value();
        write_file_atomically(dir_ / "other-ca.pem", pem_of(other_ca.get()), 0644).value();
        write_file_atomically(dir_ / "server.crt", pem_of(cert.get()), 0644).value();
        write_file_atomically(dir_ / "server.key", pem_of(server_key.get()), 0600).value();
        write_file_atomically(dir_ / "client.crt", pem_of(client.get()), 0644).value();
        write_file_atomically(dir_ / "stranger.crt", pem_of(stranger.get()), 0644).value();
        write_file_atomically(dir_ / "client.key", pem_of(client_key.get()), 0600).value();
        server_ = std::make_unique<TestServer>([this](ServerConfig& c) {
            c.tls = TlsConfig{dir_ / "server.crt", dir_ / "server.key", std::nullopt};
        });
    }

    void require_client_certificates() {
        server_.reset();
        server_ = std::make_unique<TestServer>([this](ServerConfig& c) {
            c.tls = TlsConfig{dir_ / "server.crt", dir_ / "server.key", dir_ / "ca.pem"};
        });
    }

    Result<HttpReply> health(const std::filesystem::path& ca,
                             std::optional<std::filesystem::path> client_cert = std::nullopt) {
        HttpClientOptions options;
        options.ca_file = ca;
        if (client_cert) {
            options.client_cert = client_cert;
            options.client_key = dir_ / "client.key";
        }
        options.timeout = std::chrono::seconds(10);
        auto client =
            HttpClient::create("https://127.0.0.1:" + std::to_string(server_->port()), options)
                .value();
        return client.request("GET", "/v1/health");
    }

    fieldlog::testing::TempDir dir_;
    std::unique_ptr<TestServer> server_;
};

TEST_F(TlsTest, ClientTrustingTheCaIsServed) {
    auto reply = health(dir_ / "ca.pem");
    ASSERT_TRUE(reply) << reply.error().to_string();
    EXPECT_EQ(reply->status, 200);
    // A whole device exchange works over it too.
    HttpClientOptions options;
    options.ca_file = dir_ / "ca.pem";
    auto client =
        HttpClient::create("https://127.0.0.1:" + std::to_string(server_->port()), options).value();
    auto enrolled = client.request("POST", "/v1/admin/devices",
                                   {{"Authorization", "Bearer " + server_->admin_token()},
                                    {"Content-Type", "application/json"}},
                                   R"({"device_id": "tls-01"})");
    ASSERT_TRUE(enrolled);
    ASSERT_EQ(enrolled->status, 201);
    std::string token(parse_object(enrolled->body).at("token").as_string());
    DeviceChain chain("tls-01");
    chain.append("device_log", "1", log_record(1, 1, "boot"));
    auto batch =
        client.request("POST", "/v1/devices/tls-01/batches",
                       {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                       boost::json::serialize(chain.batch(1, 1)));
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->status, 200) << batch->body;
}

TEST_F(TlsTest, ClientTrustingAnotherCaIsRefused) {
    auto reply = health(dir_ / "other-ca.pem");
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code(), Errc::unavailable);
    EXPECT_THAT(reply.error().message(), HasSubstr("certificate"));
    // The server carries on serving clients that do trust it.
    EXPECT_TRUE(health(dir_ / "ca.pem"));
}

TEST_F(TlsTest, PlainHttpToTheTlsPortGetsNoReply) {
    HttpClientOptions options;
    options.timeout = std::chrono::seconds(10);
    auto client =
        HttpClient::create("http://127.0.0.1:" + std::to_string(server_->port()), options).value();
    auto reply = client.request("GET", "/v1/health");
    EXPECT_FALSE(reply && reply->status == 200);
}

TEST_F(TlsTest, ServerAskingForClientCertificatesServesOnlyThoseItsCaSigned) {
    require_client_certificates();
    auto signed_client = health(dir_ / "ca.pem", dir_ / "client.crt");
    ASSERT_TRUE(signed_client) << signed_client.error().to_string();
    EXPECT_EQ(signed_client->status, 200);
    EXPECT_FALSE(health(dir_ / "ca.pem"));
    auto stranger = health(dir_ / "ca.pem", dir_ / "stranger.crt");
    EXPECT_FALSE(stranger && stranger->status == 200);
}

TEST(TlsConfig, MissingCertificateStopsTheStart) {
    fieldlog::testing::TempDir dir;
    EXPECT_THROW(TestServer([&](ServerConfig& c) {
                     c.tls = TlsConfig{dir / "missing.crt", dir / "missing.key", std::nullopt};
                 }),
                 std::runtime_error);
}

}  // namespace
}  // namespace fieldlog::server::testing
