// HTTPS: a throwaway CA and server certificate made here with OpenSSL; clients verify the
// server against the CA, and one trusting another CA is refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <memory>

#include "server_harness.hpp"
#include "test_pki.hpp"

namespace fieldlog::server::testing {
namespace {

using ::testing::HasSubstr;

class TlsTest : public ::testing::Test {
protected:
    TlsTest() : pki_(dir_.path()) {
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
    fieldlog::testing::TestPki pki_;
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
