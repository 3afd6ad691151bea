#include "fieldlog/config/daemon_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "temp_dir.hpp"

namespace fieldlog::config {
namespace {

using ::testing::HasSubstr;

// Line numbers matter: tests below replace one line and expect it in the message.
constexpr std::string_view valid_config = R"([device]
id = "handheld-01"
data_dir = "/var/lib/fieldlog"

[control]
socket = "/run/fieldlog/control.sock"
max_request_bytes = 65536

[reference]
sites = "sites.toml"
standards_dir = "standards"
)";

std::string replaced(std::string_view from, std::string_view to) {
    std::string text(valid_config);
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
}

std::string error_of(std::string_view text) {
    auto config = parse_daemon_config(text, "fieldlogd.toml", "/etc/fieldlog");
    if (config) {
        ADD_FAILURE() << "config was accepted";
        return "";
    }
    EXPECT_EQ(config.error().code(), Errc::invalid_argument);
    return config.error().message();
}

void write(const std::filesystem::path& path, std::string_view text) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

TEST(DaemonConfig, LoadsShippedConfig) {
    auto config = load_daemon_config(testing::source_dir() / "config/fieldlogd.toml");
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_EQ(config->device_id, "handheld-01");
    EXPECT_EQ(config->data_dir, "/var/lib/fieldlog");
    EXPECT_EQ(config->control_socket, "/run/fieldlog/control.sock");
    EXPECT_EQ(config->sites_file, "/etc/fieldlog/sites.toml");
    EXPECT_EQ(config->standards_dir, "/etc/fieldlog/standards");
    EXPECT_EQ(config->default_utc_offset_minutes, 8 * 60);
    EXPECT_EQ(config->synchronous, DaemonConfig::Synchronous::full);
    EXPECT_EQ(config->max_photo_bytes, 32u * 1024 * 1024);
}

TEST(DaemonConfig, AppliesDefaultsForOptionalKeys) {
    auto config = parse_daemon_config(valid_config, "fieldlogd.toml", "/etc/fieldlog");
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_EQ(config->max_clients, 32u);
    EXPECT_EQ(config->device_log_max_entries, 10000u);
    EXPECT_EQ(config->default_utc_offset_minutes, 0);
    EXPECT_EQ(config->synchronous, DaemonConfig::Synchronous::full);
}

TEST(DaemonConfig, ResolvesRelativePathsAgainstConfigDirectory) {
    testing::TempDir dir;
    auto file = dir / "etc/fieldlogd.toml";
    write(file, replaced("data_dir = \"/var/lib/fieldlog\"", "data_dir = \"../var/data\""));
    auto config = load_daemon_config(file);
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_EQ(config->data_dir, dir / "var/data");
    EXPECT_EQ(config->sites_file, dir / "etc/sites.toml");
    EXPECT_EQ(config->standards_dir, dir / "etc/standards");
    EXPECT_EQ(config->control_socket, "/run/fieldlog/control.sock");
}

TEST(DaemonConfig, ReadsStoreAndOffsetSettings) {
    auto config =
        parse_daemon_config(std::string(valid_config) +
                                "\n[store]\nsynchronous = \"normal\"\nmax_photo_bytes = 1048576\n",
                            "fieldlogd.toml", "/");
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_EQ(config->synchronous, DaemonConfig::Synchronous::normal);
    EXPECT_EQ(config->max_photo_bytes, 1048576u);
    auto west = parse_daemon_config(replaced("[device]\n", "[device]\nutc_offset = \"-03:30\"\n"),
                                    "fieldlogd.toml", "/");
    ASSERT_TRUE(west) << west.error().message();
    EXPECT_EQ(west->default_utc_offset_minutes, -210);
}

TEST(DaemonConfig, ReportsSyntaxErrorWithLineAndColumn) {
    auto message = error_of(replaced("max_request_bytes = 65536", "max_request_bytes = = 1"));
    EXPECT_THAT(message, HasSubstr("fieldlogd.toml:7:"));
    EXPECT_THAT(message, HasSubstr("syntax error"));
}

TEST(DaemonConfig, ReportsOutOfRangeIntegerWithFileLineAndKey) {
    EXPECT_EQ(error_of(replaced("max_request_bytes = 65536", "max_request_bytes = -5")),
              "fieldlogd.toml:7:1: control.max_request_bytes: expected an integer from 1024 to "
              "1048576, got -5");
}

TEST(DaemonConfig, ReportsWrongTypeWithExpectedAndFound) {
    auto message = error_of(replaced("max_request_bytes = 65536", "max_request_bytes = \"64k\""));
    EXPECT_THAT(message, HasSubstr("fieldlogd.toml:7:1: control.max_request_bytes: expected an "
                                   "integer from 1024 to 1048576, got a string"));
    auto path = error_of(replaced("sites = \"sites.toml\"", "sites = 3"));
    EXPECT_THAT(path, HasSubstr("fieldlogd.toml:10:1: reference.sites: expected a string, got an "
                                "integer"));
}

TEST(DaemonConfig, RejectsUnknownKeyWithItsLocation) {
    auto message = error_of(replaced("max_request_bytes", "max_request_byte"));
    EXPECT_THAT(message, HasSubstr("fieldlogd.toml:7:1: control.max_request_byte: unknown key"));
    EXPECT_THAT(message, HasSubstr("max_request_bytes"));
}

TEST(DaemonConfig, RejectsUnknownTable) {
    auto message = error_of(std::string(valid_config) + "\n[sync]\nurl = \"https://x\"\n");
    EXPECT_THAT(message, HasSubstr("fieldlogd.toml:13:2: sync: unknown table"));
}

TEST(DaemonConfig, NamesMissingRequiredKey) {
    auto message = error_of(replaced("standards_dir = \"standards\"\n", ""));
    EXPECT_THAT(message,
                HasSubstr("fieldlogd.toml:9:1: reference.standards_dir: missing required key"));
    auto no_table = error_of(replaced("[device]\nid = \"handheld-01\"\n", "[device]\n"));
    EXPECT_THAT(no_table, HasSubstr("device.id: missing required key"));
}

TEST(DaemonConfig, RejectsBadDeviceId) {
    auto message = error_of(replaced("\"handheld-01\"", "\"handheld 01\""));
    EXPECT_THAT(message, HasSubstr("fieldlogd.toml:2:1: device.id: expected 1 to 64 of"));
    EXPECT_THAT(message, HasSubstr("got \"handheld 01\""));
    error_of(replaced("\"handheld-01\"", "\"\""));
    error_of(replaced("\"handheld-01\"", "\"" + std::string(65, 'a') + "\""));
}

TEST(DaemonConfig, RejectsBadEnumAndOffsetValues) {
    auto sync = error_of(std::string(valid_config) + "[store]\nsynchronous = \"off\"\n");
    EXPECT_THAT(sync, HasSubstr("store.synchronous: expected \"full\" or \"normal\", got \"off\""));
    auto offset = error_of(replaced("[device]\n", "[device]\nutc_offset = \"8\"\n"));
    EXPECT_THAT(offset, HasSubstr("fieldlogd.toml:2:1: device.utc_offset: expected an offset"));
    error_of(replaced("[device]\n", "[device]\nutc_offset = \"+15:00\"\n"));
}

TEST(DaemonConfig, RejectsSocketPathTooLongToBind) {
    auto message =
        error_of(replaced("/run/fieldlog/control.sock", "/run/" + std::string(120, 's')));
    EXPECT_THAT(message, HasSubstr("control.socket:"));
    EXPECT_THAT(message, HasSubstr("longer than the 107 a Unix socket allows"));
}

TEST(DaemonConfig, ReportsEveryProblemInOnePass) {
    auto message =
        error_of(replaced("max_request_bytes = 65536", "max_request_bytes = 1\nfoo = 1"));
    EXPECT_THAT(message, HasSubstr("fieldlogd.toml:7:1: control.max_request_bytes"));
    EXPECT_THAT(message, HasSubstr("\nfieldlogd.toml:8:1: control.foo: unknown key"));
}

TEST(DaemonConfig, ReportsMissingFileAsNotFound) {
    testing::TempDir dir;
    auto config = load_daemon_config(dir / "absent.toml");
    ASSERT_FALSE(config);
    EXPECT_EQ(config.error().code(), Errc::not_found);
    EXPECT_THAT(config.error().message(), HasSubstr("absent.toml"));
}

}  // namespace
}  // namespace fieldlog::config
