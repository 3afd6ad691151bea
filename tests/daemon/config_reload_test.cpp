// The config file at start and on SIGHUP: a bad file never takes a running daemon down, and a
// bad file at start stops it with the place of the mistake.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "daemon_process.hpp"
#include "temp_dir.hpp"

namespace fieldlog::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// Inserts line after the first line equal to after; returns the inserted line's number.
int insert_line(std::string& toml, std::string_view after, std::string_view line) {
    std::size_t at = toml.find(std::string(after) + "\n");
    if (at == std::string::npos) {
        ADD_FAILURE() << "no line '" << after << "' in the config";
        return 0;
    }
    at += after.size() + 1;
    toml.insert(at, std::string(line) + "\n");
    return 1 +
           static_cast<int>(std::count(toml.begin(), toml.begin() + static_cast<long>(at), '\n'));
}

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    ASSERT_TRUE(out) << "cannot write " << path;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> site_ids(const DaemonProcess& daemon) {
    std::vector<std::string> ids;
    auto list = daemon.ok("site.list");
    if (list.empty()) return ids;
    for (const auto& site : list.at("sites").as_array()) {
        ids.emplace_back(site.at("id").as_string());
    }
    return ids;
}

// Waits until the device log holds count entries of event; returns them newest first.
std::vector<json::object> wait_for_log_entries(const DaemonProcess& daemon, std::string_view event,
                                               std::size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + reply_timeout;
    for (;;) {
        std::vector<json::object> found;
        auto logs = daemon.ok("logs", {{"limit", 100}});
        if (!logs.empty()) {
            for (const auto& entry : logs.at("entries").as_array()) {
                if (entry.at("event").as_string() == event) found.push_back(entry.as_object());
            }
        }
        if (found.size() >= count || std::chrono::steady_clock::now() >= deadline) {
            return found;
        }
        std::this_thread::sleep_for(20ms);
    }
}

TEST(DaemonConfigFile, MalformedConfigStopsTheStartNamingFileLineAndKey) {
    struct Case {
        const char* line;
        const char* key;
    };
    const Case cases[] = {
        {"max_clientz = 4", "control.max_clientz"},
        {"max_clients = \"many\"", "control.max_clients"},
        {"max_request_bytes = 12", "control.max_request_bytes"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.line);
        TempDir dir;
        auto config = default_daemon_config(dir.path());
        DaemonProcess daemon(dir.path(), config);
        std::string toml = daemon_config_toml(config);
        // Duplicate keys would be a different mistake: drop the one this case replaces.
        if (std::string_view(c.key) == "control.max_clients") {
            toml.erase(toml.find("max_clients = 32\n"), std::string("max_clients = 32\n").size());
        }
        if (std::string_view(c.key) == "control.max_request_bytes") {
            toml.erase(toml.find("max_request_bytes = 65536\n"),
                       std::string("max_request_bytes = 65536\n").size());
        }
        int line = insert_line(toml, "[control]", c.line);
        daemon.write_config_text(toml);

        ASSERT_TRUE(daemon.spawn(
            {DaemonProcess::executable().string(), "--config", daemon.config_path().string()}));
        auto exit = daemon.wait_exit();
        ASSERT_TRUE(exit) << "fieldlogd kept running with a malformed config";
        EXPECT_TRUE(exit->exited() && exit->code() != 0) << exit->describe();
        const std::string output = daemon.output();
        const std::string place = daemon.config_path().string() + ":" + std::to_string(line) + ":";
        EXPECT_NE(output.find(place), std::string::npos) << "expected " << place << " in:\n"
                                                         << output;
        EXPECT_NE(output.find(c.key), std::string::npos) << output;
        EXPECT_FALSE(std::filesystem::exists(config.socket));
        EXPECT_FALSE(std::filesystem::exists(config.data_dir / "fieldlog.db"))
            << "a refused start created the store";
    }
}

class ConfigReloadTest : public ::testing::Test {
protected:
    void SetUp() override {
        config_ = default_daemon_config(dir_.path());
        // A copy the test can change, as an administrator would edit /etc/fieldlog/sites.toml.
        config_.sites_file = dir_ / "sites.toml";
        original_sites_ = read_file(source_dir() / "config" / "sites.toml");
        ASSERT_FALSE(original_sites_.empty());
        write_file(config_.sites_file, original_sites_);
        daemon_.emplace(dir_.path(), config_);
        ASSERT_TRUE(daemon_->start());
        sites_before_ = site_ids(*daemon_);
        ASSERT_FALSE(sites_before_.empty());
    }

    TempDir dir_;
    DaemonConfig config_;
    std::string original_sites_;
    std::vector<std::string> sites_before_;
    std::optional<DaemonProcess> daemon_;
};

TEST_F(ConfigReloadTest, BrokenConfigOnSighupKeepsTheRunningOneAndLogsWhy) {
    std::string toml = daemon_config_toml(config_);
    int line = insert_line(toml, "[control]", "max_clientz = 4");
    daemon_->write_config_text(toml);
    ASSERT_TRUE(daemon_->kill(SIGHUP));

    auto failures = wait_for_log_entries(*daemon_, "config_reload_failed", 1);
    ASSERT_EQ(failures.size(), 1u) << "no config_reload_failed entry; output:\n"
                                   << daemon_->output();
    EXPECT_EQ(failures[0].at("level"), "error");
    const std::string message(failures[0].at("message").as_string());
    EXPECT_NE(message.find("control.max_clientz"), std::string::npos) << message;
    EXPECT_NE(message.find(":" + std::to_string(line) + ":"), std::string::npos) << message;

    // A reference file that does not parse is refused the same way.
    daemon_->write_config_text(daemon_config_toml(config_));
    write_file(config_.sites_file, original_sites_ + "\n[[site]]\nid = \n");
    ASSERT_TRUE(daemon_->kill(SIGHUP));
    failures = wait_for_log_entries(*daemon_, "config_reload_failed", 2);
    ASSERT_EQ(failures.size(), 2u) << daemon_->output();
    EXPECT_NE(std::string(failures[0].at("message").as_string()).find("sites.toml"),
              std::string::npos)
        << json::value(failures[0]);

    // Still running, on the config it started with.
    EXPECT_TRUE(daemon_->running());
    EXPECT_EQ(site_ids(*daemon_), sites_before_);
    EXPECT_FALSE(
        daemon_->ok("complaint.add", {{"case_number", "H-1"}, {"batch_number", 1}}).empty());
    auto verified = daemon_->ok("verify");
    EXPECT_TRUE(verified.at("ok").as_bool()) << json::value(verified);
}

TEST_F(ConfigReloadTest, SighupWithAChangedSitesFileShowsTheNewSite) {
    write_file(config_.sites_file, original_sites_ + R"(
[[site]]
id = "paper-mill-d7"
name = "Paper Mill, Plot D-7"
kind = "industrial_enterprise"
address = "Plot D-7, Jingwu Road"
lat = 32.0211
lon = 120.9420
)");
    ASSERT_TRUE(daemon_->kill(SIGHUP));
    auto reloads = wait_for_log_entries(*daemon_, "config_reload", 1);
    ASSERT_EQ(reloads.size(), 1u) << daemon_->output();

    auto ids = site_ids(*daemon_);
    EXPECT_EQ(ids.size(), sites_before_.size() + 1);
    EXPECT_NE(std::find(ids.begin(), ids.end(), "paper-mill-d7"), ids.end());
    // The new site is usable at once.
    auto started = daemon_->ok("inspection.start", {{"site_id", "paper-mill-d7"},
                                                    {"kind", "wastewater_discharge"},
                                                    {"inspectors", json::array{"Li Wei"}}});
    ASSERT_FALSE(started.empty());
    EXPECT_EQ(started.at("inspection").at("site_name"), "Paper Mill, Plot D-7");
}

}  // namespace
}  // namespace fieldlog::testing
