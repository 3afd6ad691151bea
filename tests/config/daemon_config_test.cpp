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
    auto message = error_of(std::string(valid_config) + "\n[cloud]\nurl = \"https://x\"\n");
    EXPECT_THAT(message, HasSubstr("fieldlogd.toml:13:2: cloud: unknown table"));
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

// ---- [sync] ----

Result<DaemonConfig> with_sync(std::string_view sync_table) {
    return parse_daemon_config(std::string(valid_config) + "\n[sync]\n" + std::string(sync_table),
                               "fieldlogd.toml", "/etc/fieldlog");
}

// The [sync] table starts on line 13, so its first key is on line 14.
std::string sync_error(std::string_view sync_table) {
    return error_of(std::string(valid_config) + "\n[sync]\n" + std::string(sync_table));
}

TEST(DaemonConfig, SyncIsOffWithoutUrlAndHasDefaults) {
    auto config = parse_daemon_config(valid_config, "fieldlogd.toml", "/etc/fieldlog");
    ASSERT_TRUE(config) << config.error().message();
    const SyncConfig& sync = config->sync;
    EXPECT_FALSE(sync.enabled);
    EXPECT_EQ(sync.url, "");
    EXPECT_EQ(sync.batch_max_entries, 500u);
    EXPECT_EQ(sync.batch_max_bytes, 1024u * 1024);
    EXPECT_EQ(sync.batch_max_age, std::chrono::milliseconds(2000));
    EXPECT_EQ(sync.chunk_bytes, 1024u * 1024);
    EXPECT_EQ(sync.retry_initial, std::chrono::milliseconds(1000));
    EXPECT_EQ(sync.retry_max, std::chrono::milliseconds(300'000));
    EXPECT_EQ(sync.probe_interval, std::chrono::milliseconds(120'000));
    EXPECT_FALSE(sync.probe_max);  // as retry_max
    EXPECT_EQ(sync.request_timeout, std::chrono::milliseconds(30'000));
    EXPECT_FALSE(sync.allow_plain_http);
}

TEST(DaemonConfig, ShippedConfigLeavesSyncOffUntilAUrlIsSet) {
    auto config = load_daemon_config(testing::source_dir() / "config/fieldlogd.toml");
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_FALSE(config->sync.enabled);
    // Out of reach, a device probes the office at most every 30 minutes.
    EXPECT_EQ(config->sync.probe_max, std::chrono::milliseconds(1'800'000));
}

TEST(DaemonConfig, ReadsEverySyncKey) {
    auto config = with_sync(R"(url = "https://sync.example.org/fieldlog/"
token_file = "device.token"
ca_file = "/etc/fieldlog/office-ca.pem"
client_cert = "client.pem"
client_key = "client.key"
batch_max_entries = 1000
batch_max_bytes = 65536
batch_max_age_ms = 0
chunk_bytes = 4096
retry_initial_ms = 50
retry_max_ms = 5000
probe_interval_ms = 15000
probe_max_ms = 3600000
request_timeout_ms = 2000
)");
    ASSERT_TRUE(config) << config.error().message();
    const SyncConfig& sync = config->sync;
    EXPECT_TRUE(sync.enabled);
    EXPECT_EQ(sync.url, "https://sync.example.org/fieldlog");
    EXPECT_EQ(sync.token_file, "/etc/fieldlog/device.token");
    EXPECT_EQ(sync.ca_file, "/etc/fieldlog/office-ca.pem");
    EXPECT_EQ(sync.client_cert, "/etc/fieldlog/client.pem");
    EXPECT_EQ(sync.client_key, "/etc/fieldlog/client.key");
    EXPECT_EQ(sync.batch_max_entries, 1000u);
    EXPECT_EQ(sync.batch_max_bytes, 65536u);
    EXPECT_EQ(sync.batch_max_age, std::chrono::milliseconds(0));
    EXPECT_EQ(sync.chunk_bytes, 4096u);
    EXPECT_EQ(sync.retry_initial, std::chrono::milliseconds(50));
    EXPECT_EQ(sync.retry_max, std::chrono::milliseconds(5000));
    EXPECT_EQ(sync.probe_interval, std::chrono::milliseconds(15000));
    EXPECT_EQ(sync.probe_max, std::chrono::milliseconds(3'600'000));
    EXPECT_EQ(sync.request_timeout, std::chrono::milliseconds(2000));
}

TEST(DaemonConfig, SyncCanBeSwitchedOffWithItsUrlKept) {
    auto config = with_sync("enabled = false\nurl = \"https://sync.example.org\"\n");
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_FALSE(config->sync.enabled);
    EXPECT_EQ(config->sync.url, "https://sync.example.org");
}

TEST(DaemonConfig, PlainHttpNeedsExplicitOptIn) {
    EXPECT_THAT(sync_error("url = \"http://127.0.0.1:8080\"\ntoken_file = \"t\"\n"),
                HasSubstr("fieldlogd.toml:14:1: sync.url: plain http:// sends records and the "
                          "device token unencrypted"));
    auto lab =
        with_sync("url = \"http://127.0.0.1:8080\"\ntoken_file = \"t\"\nallow_plain_http = true\n");
    ASSERT_TRUE(lab) << lab.error().message();
    EXPECT_EQ(lab->sync.url, "http://127.0.0.1:8080");
    EXPECT_TRUE(lab->sync.allow_plain_http);
}

TEST(DaemonConfig, EnabledSyncNeedsUrlAndTokenFile) {
    EXPECT_THAT(sync_error("enabled = true\ntoken_file = \"t\"\n"),
                HasSubstr("fieldlogd.toml:14:1: sync.enabled: sync is enabled but sync.url is "
                          "missing"));
    EXPECT_THAT(sync_error("url = \"https://sync.example.org\"\n"),
                HasSubstr("sync.token_file: missing required key"));
}

TEST(DaemonConfig, RejectsMalformedSyncUrls) {
    EXPECT_THAT(sync_error("url = \"ftp://x\"\ntoken_file = \"t\"\n"),
                HasSubstr("fieldlogd.toml:14:1: sync.url: expected a URL starting with https://"));
    EXPECT_THAT(sync_error("url = \"https://dev:secret@x\"\ntoken_file = \"t\"\n"),
                HasSubstr("must not carry credentials"));
    EXPECT_THAT(sync_error("url = \"https://x/?a=1\"\ntoken_file = \"t\"\n"),
                HasSubstr("must not have a query"));
    EXPECT_THAT(sync_error("url = \"https://x:99999\"\ntoken_file = \"t\"\n"),
                HasSubstr("expected a port from 1 to 65535"));
    EXPECT_THAT(sync_error("url = \"https://\"\ntoken_file = \"t\"\n"),
                HasSubstr("the URL has no host"));
    EXPECT_THAT(sync_error("url = \"https://a b\"\ntoken_file = \"t\"\n"),
                HasSubstr("without spaces"));
    auto v6 = with_sync("url = \"https://[::1]:8443\"\ntoken_file = \"t\"\n");
    EXPECT_TRUE(v6) << v6.error().message();
}

TEST(DaemonConfig, ReportsSyncTypeAndRangeErrorsWithLocation) {
    EXPECT_EQ(sync_error("enabled = \"yes\"\n"),
              "fieldlogd.toml:14:1: sync.enabled: expected true or false, got a string");
    EXPECT_EQ(sync_error("batch_max_entries = 1001\n"),
              "fieldlogd.toml:14:1: sync.batch_max_entries: expected an integer from 1 to 1000, "
              "got 1001");
    EXPECT_THAT(sync_error("chunk_bytes = 8388608\n"),
                HasSubstr("sync.chunk_bytes: expected an integer from 4096 to 4194304"));
    EXPECT_EQ(sync_error("retry_initial_ms = 2000\nretry_max_ms = 1000\n"),
              "fieldlogd.toml:15:1: sync.retry_max_ms: expected at least retry_initial_ms (2000), "
              "got 1000");
    EXPECT_EQ(sync_error("probe_interval_ms = 120000\nprobe_max_ms = 60000\n"),
              "fieldlogd.toml:15:1: sync.probe_max_ms: expected at least probe_interval_ms "
              "(120000), got 60000");
    EXPECT_EQ(sync_error("probe_max_ms = 999\n"),
              "fieldlogd.toml:14:1: sync.probe_max_ms: expected an integer from 1000 to 86400000, "
              "got 999");
}

TEST(DaemonConfig, RejectsUnknownSyncKeyAndHalfAClientCertificate) {
    auto unknown = sync_error("batch_size = 5\n");
    EXPECT_THAT(unknown, HasSubstr("fieldlogd.toml:14:1: sync.batch_size: unknown key; expected "
                                   "one of: enabled, url, token_file"));
    EXPECT_THAT(sync_error("url = \"https://x\"\ntoken_file = \"t\"\nclient_cert = \"c.pem\"\n"),
                HasSubstr("fieldlogd.toml:16:1: sync.client_cert: client_cert needs client_key"));
}

// ---- [gnss] and [camera] ----

// The [gnss] or [camera] table starts on line 13, so its first key is on line 14.
std::string table_error(std::string_view table, std::string_view body) {
    return error_of(std::string(valid_config) + "\n[" + std::string(table) + "]\n" +
                    std::string(body));
}

Result<DaemonConfig> with_table(std::string_view table, std::string_view body) {
    return parse_daemon_config(
        std::string(valid_config) + "\n[" + std::string(table) + "]\n" + std::string(body),
        "fieldlogd.toml", "/etc/fieldlog");
}

TEST(DaemonConfig, NoGnssOrCameraWithoutTheirTables) {
    auto config = parse_daemon_config(valid_config, "fieldlogd.toml", "/etc/fieldlog");
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_EQ(config->gnss.source, GnssConfig::Source::none);
    EXPECT_TRUE(config->camera.inbox_dir.empty());
}

TEST(DaemonConfig, ReadsSerialGnss) {
    auto config = with_table("gnss",
                             "device = \"/dev/ttyACM0\"\nbaud_rate = 38400\nmax_fix_age_ms = "
                             "3000\nmax_hdop = 2.5\nmin_satellites = 5\n");
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_EQ(config->gnss.source, GnssConfig::Source::serial);
    EXPECT_EQ(config->gnss.device, "/dev/ttyACM0");
    EXPECT_EQ(config->gnss.baud_rate, 38400u);
    EXPECT_EQ(config->gnss.max_fix_age, std::chrono::milliseconds(3000));
    EXPECT_DOUBLE_EQ(config->gnss.max_hdop, 2.5);
    EXPECT_EQ(config->gnss.min_satellites, 5);
}

TEST(DaemonConfig, ReadsReplayGnssWithRelativeFile) {
    auto config = with_table("gnss",
                             "replay_file = \"walk.nmea\"\nreplay_interval_ms = 50\nreplay_loop = "
                             "true\nmax_hdop = 4\n");
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_EQ(config->gnss.source, GnssConfig::Source::replay);
    EXPECT_EQ(config->gnss.replay_file, "/etc/fieldlog/walk.nmea");
    EXPECT_EQ(config->gnss.replay_interval, std::chrono::milliseconds(50));
    EXPECT_TRUE(config->gnss.replay_loop);
    EXPECT_DOUBLE_EQ(config->gnss.max_hdop, 4.0);
    EXPECT_EQ(config->gnss.max_fix_age, std::chrono::milliseconds(5000));
    EXPECT_EQ(config->gnss.min_satellites, 4);
}

TEST(DaemonConfig, ReportsGnssErrorsWithLocation) {
    EXPECT_EQ(table_error("gnss", "device = \"/dev/ttyS0\"\nbaud_rate = 19200\n"),
              "fieldlogd.toml:15:1: gnss.baud_rate: expected 4800, 9600, 38400 or 115200, got "
              "19200");
    EXPECT_THAT(table_error("gnss", "device = \"/dev/ttyS0\"\nreplay_file = \"x.nmea\"\n"),
                HasSubstr("fieldlogd.toml:15:1: gnss.replay_file: give either gnss.device"));
    EXPECT_THAT(table_error("gnss", "max_hdop = 3\n"),
                HasSubstr("gnss: expected gnss.device (the receiver's serial port) or "
                          "gnss.replay_file"));
    EXPECT_THAT(table_error("gnss", "device = \"/dev/ttyS0\"\nmax_hdop = 0\n"),
                HasSubstr("fieldlogd.toml:15:1: gnss.max_hdop: expected more than 0"));
    EXPECT_THAT(table_error("gnss", "device = \"/dev/ttyS0\"\nmin_satellites = 100\n"),
                HasSubstr("fieldlogd.toml:15:1: gnss.min_satellites: expected an integer from 0 "
                          "to 99"));
    EXPECT_THAT(table_error("gnss", "replay_file = \"x\"\nreplay_loop = 1\n"),
                HasSubstr("fieldlogd.toml:15:1: gnss.replay_loop: expected true or false"));
    EXPECT_THAT(table_error("gnss", "device = \"/dev/ttyS0\"\nbaud = 9600\n"),
                HasSubstr("fieldlogd.toml:15:1: gnss.baud: unknown key; expected one of: device"));
}

TEST(DaemonConfig, ReadsCameraInbox) {
    auto config = with_table("camera", "inbox_dir = \"inbox\"\ninbox_settle_ms = 500\n");
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_EQ(config->camera.inbox_dir, "/etc/fieldlog/inbox");
    EXPECT_EQ(config->camera.inbox_settle, std::chrono::milliseconds(500));
    EXPECT_THAT(table_error("camera", "inbox_settle_ms = 500\n"), HasSubstr("camera.inbox_dir"));
    EXPECT_THAT(table_error("camera", "inbox_dir = \"in\"\ninbox_settle_ms = 5\n"),
                HasSubstr("fieldlogd.toml:15:1: camera.inbox_settle_ms: expected an integer from "
                          "10 to 600000, got 5"));
    EXPECT_THAT(table_error("camera", "inbox_dir = \"in\"\nsettle = 5\n"),
                HasSubstr("fieldlogd.toml:15:1: camera.settle: unknown key"));
}

TEST(DaemonConfig, ReadsPowerTable) {
    auto none = parse_daemon_config(valid_config, "fieldlogd.toml", "/etc/fieldlog");
    ASSERT_TRUE(none) << none.error().message();
    EXPECT_FALSE(none->power.enabled);
    auto config = with_table("power",
                             "sysfs_root = \"supplies\"\npoll_interval_ms = 100\n"
                             "low_battery_percent = 20\nlow_battery_hysteresis_percent = 3\n");
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_TRUE(config->power.enabled);
    EXPECT_EQ(config->power.sysfs_root, "/etc/fieldlog/supplies");
    EXPECT_EQ(config->power.poll_interval, std::chrono::milliseconds(100));
    EXPECT_EQ(config->power.low_battery_percent, 20);
    EXPECT_EQ(config->power.low_battery_hysteresis_percent, 3);
    auto defaults = with_table("power", "");
    ASSERT_TRUE(defaults) << defaults.error().message();
    EXPECT_EQ(defaults->power.sysfs_root, "/sys/class/power_supply");
    EXPECT_EQ(defaults->power.poll_interval, std::chrono::milliseconds(300'000));
    EXPECT_THAT(table_error("power", "low_battery_percent = 101\n"),
                HasSubstr("fieldlogd.toml:14:1: power.low_battery_percent: expected an integer "
                          "from 0 to 100, got 101"));
    EXPECT_THAT(table_error("power", "low_percent = 10\n"),
                HasSubstr("fieldlogd.toml:14:1: power.low_percent: unknown key"));
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
