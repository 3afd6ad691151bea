#include "fieldlog/server/server_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fieldlog/files.hpp"
#include "fieldlog/server/server.hpp"
#include "server_harness.hpp"
#include "temp_dir.hpp"

namespace fieldlog::server {
namespace {

using ::testing::HasSubstr;

const std::string minimal = R"([server]
listen = "127.0.0.1:8443"
admin_token_file = "admin.token"
data_dir = "data"
)";

std::string error_of(const std::string& text) {
    auto config = parse_server_config(text, "fieldlog-server.toml", "/etc/fieldlog");
    EXPECT_FALSE(config);
    return config ? std::string() : config.error().message();
}

TEST(ServerConfig, ShippedFileLoads) {
    auto config =
        load_server_config(fieldlog::testing::source_dir() / "sync/server/fieldlog-server.toml");
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_EQ(config->listen_host, "0.0.0.0");
    EXPECT_EQ(config->listen_port, 8443);
    EXPECT_EQ(config->threads, 4u);
    EXPECT_EQ(config->admin_token_file, "/etc/fieldlog/admin.token");
    EXPECT_EQ(config->data_dir, "/var/lib/fieldlog-server");
    ASSERT_TRUE(config->tls);
    EXPECT_EQ(config->tls->certificate, "/etc/fieldlog/tls/server.crt");
    EXPECT_EQ(config->max_body_bytes, 8u * 1024 * 1024);
    EXPECT_EQ(config->max_header_bytes, 16384u);
    EXPECT_EQ(config->request_timeout, std::chrono::seconds(30));
    EXPECT_EQ(config->max_connections, 256u);
    EXPECT_EQ(config->partial_upload_max_age, std::chrono::hours(7 * 24));
    EXPECT_EQ(config->partial_sweep_interval, std::chrono::hours(1));
}

TEST(ServerConfig, MinimalFileTakesDefaultsAndResolvesRelativePaths) {
    auto config = parse_server_config(minimal, "fieldlog-server.toml", "/etc/fieldlog");
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_EQ(config->admin_token_file, "/etc/fieldlog/admin.token");
    EXPECT_EQ(config->data_dir, "/etc/fieldlog/data");
    EXPECT_FALSE(config->tls);
    EXPECT_EQ(config->threads, 2u);
    EXPECT_EQ(config->max_body_bytes, 8u * 1024 * 1024);
}

TEST(ServerConfig, ListenTakesIpv4Ipv6AndPortZero) {
    auto v6 = parse_server_config(
        "[server]\nlisten = \"[::1]:0\"\nadmin_token_file = \"a\"\ndata_dir = \"d\"\n", "f", "/");
    ASSERT_TRUE(v6) << v6.error().message();
    EXPECT_EQ(v6->listen_host, "::1");
    EXPECT_EQ(v6->listen_port, 0);
}

TEST(ServerConfig, ErrorsNameFileLineColumnAndKey) {
    std::string name = minimal;
    name.replace(name.find("127.0.0.1:8443"), 14, "localhost:8443");
    EXPECT_THAT(error_of(name), HasSubstr("fieldlog-server.toml:2:1: server.listen: expected an "
                                          "address and port"));
    std::string port = minimal;
    port.replace(port.find("8443"), 4, "70000");
    EXPECT_THAT(error_of(port), HasSubstr("server.listen"));
    EXPECT_THAT(error_of(minimal + "[limits]\nmax_body_bytes = 10\n"),
                HasSubstr("fieldlog-server.toml:6:1: limits.max_body_bytes: expected an integer "
                          "from 65536 to"));
    EXPECT_THAT(error_of(minimal + "[limits]\nrequest_timeout_s = \"30\"\n"),
                HasSubstr("limits.request_timeout_s: expected an integer from 1 to 3600, got a "
                          "string"));
}

TEST(ServerConfig, UnknownKeysAndTablesAreRejected) {
    std::string misspelt = minimal;
    misspelt.replace(misspelt.find("data_dir"), 8, "datadir");
    std::string message = error_of(misspelt);
    EXPECT_THAT(message, HasSubstr("fieldlog-server.toml:4:1: server.datadir: unknown key"));
    EXPECT_THAT(message, HasSubstr("server.data_dir: missing required key"));
    EXPECT_THAT(error_of(minimal + "[sync]\nx = 1\n"), HasSubstr("sync: unknown table"));
}

TEST(ServerConfig, TlsNeedsBothFiles) {
    EXPECT_THAT(error_of(minimal + "[tls]\ncertificate = \"server.crt\"\n"),
                HasSubstr("tls.private_key: missing required key"));
    auto both = parse_server_config(
        minimal + "[tls]\ncertificate = \"tls/s.crt\"\nprivate_key = \"/k/s.key\"\n", "f",
        "/etc/fieldlog");
    ASSERT_TRUE(both) << both.error().message();
    EXPECT_EQ(both->tls->certificate, "/etc/fieldlog/tls/s.crt");
    EXPECT_EQ(both->tls->private_key, "/k/s.key");
    EXPECT_FALSE(both->tls->client_ca);
    auto mutual = parse_server_config(minimal +
                                          "[tls]\ncertificate = \"s.crt\"\nprivate_key = "
                                          "\"s.key\"\nclient_ca = \"clients.pem\"\n",
                                      "f", "/etc/fieldlog");
    ASSERT_TRUE(mutual) << mutual.error().message();
    EXPECT_EQ(mutual->tls->client_ca, "/etc/fieldlog/clients.pem");
}

TEST(ServerConfig, AbandonedUploadAgeDefaultsToAWeekAndIsChecked) {
    auto defaults = parse_server_config(minimal, "fieldlog-server.toml", "/etc/fieldlog");
    ASSERT_TRUE(defaults) << defaults.error().message();
    EXPECT_EQ(defaults->partial_upload_max_age, std::chrono::hours(7 * 24));
    EXPECT_EQ(defaults->partial_sweep_interval, std::chrono::hours(1));
    auto set = parse_server_config(
        minimal + "[uploads]\npartial_max_age_s = 86400\npartial_sweep_interval_s = 600\n", "f",
        "/etc/fieldlog");
    ASSERT_TRUE(set) << set.error().message();
    EXPECT_EQ(set->partial_upload_max_age, std::chrono::hours(24));
    EXPECT_EQ(set->partial_sweep_interval, std::chrono::minutes(10));
    EXPECT_THAT(error_of(minimal + "[uploads]\npartial_max_age_s = 5\n"),
                HasSubstr("fieldlog-server.toml:6:1: uploads.partial_max_age_s: expected an "
                          "integer from 60 to 315360000, got 5"));
    EXPECT_THAT(error_of(minimal + "[uploads]\npartial_max_age_s = \"7d\"\n"),
                HasSubstr("uploads.partial_max_age_s: expected an integer from 60 to 315360000, "
                          "got a string"));
    EXPECT_THAT(error_of(minimal + "[uploads]\npartial_sweep_interval_s = 0\n"),
                HasSubstr("fieldlog-server.toml:6:1: uploads.partial_sweep_interval_s: expected "
                          "an integer from 1 to 86400, got 0"));
    EXPECT_THAT(error_of(minimal + "[uploads]\nmax_age_s = 60\n"),
                HasSubstr("uploads.max_age_s: unknown key"));
}

TEST(ServerConfig, SyntaxErrorIsLocated) {
    EXPECT_THAT(error_of("[server\nlisten = 1\n"), HasSubstr("fieldlog-server.toml:1:"));
}

TEST(ServerStart, RefusesAnAdminTokenFileOthersCanRead) {
    fieldlog::testing::TempDir dir;
    ServerConfig config;
    config.listen_port = 0;
    config.data_dir = dir / "data";
    config.admin_token_file = dir / "admin.token";
    write_file_atomically(config.admin_token_file, "0123456789abcdef0123\n", 0644).value();
    auto open = Server::create(config);
    ASSERT_FALSE(open);
    EXPECT_THAT(open.error().message(), HasSubstr("mode 0600"));
    write_file_atomically(config.admin_token_file, "short\n", 0600).value();
    auto short_token = Server::create(config);
    ASSERT_FALSE(short_token);
    EXPECT_THAT(short_token.error().message(), HasSubstr("16 characters"));
}

TEST(ServerStart, RefusesAPortInUse) {
    testing::TestServer running;
    fieldlog::testing::TempDir dir;
    ServerConfig config;
    config.listen_port = running.port();
    config.data_dir = dir / "data";
    config.admin_token_file = dir / "admin.token";
    testing::write_admin_token(config.admin_token_file);
    auto second = Server::create(config);
    ASSERT_FALSE(second);
    EXPECT_THAT(second.error().message(), HasSubstr("cannot listen on 127.0.0.1:"));
}

}  // namespace
}  // namespace fieldlog::server
