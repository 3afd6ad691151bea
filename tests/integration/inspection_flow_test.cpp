// A whole site visit recorded through the fieldlog CLI against a real fieldlogd process.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <thread>

#include "daemon_process.hpp"
#include "fieldlog/files.hpp"
#include "jpeg_fixture.hpp"
#include "target_command.hpp"
#include "temp_dir.hpp"

extern char** environ;

namespace fieldlog::testing {
namespace {

namespace json = boost::json;

struct CliResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

class InspectionFlow : public ::testing::Test {
protected:
    void SetUp() override {
        daemon_ = std::make_unique<DaemonProcess>(dir_.path(), default_daemon_config(dir_.path()));
        ASSERT_TRUE(daemon_->start());
    }

    // Runs `fieldlog --socket S ARGS...` to completion (bounded) with stdout and stderr kept
    // apart, as a shell would.
    CliResult cli(std::vector<std::string> args) {
        std::vector<std::string> argv{FIELDLOG_CLI_PATH, "--socket",
                                      daemon_->config().socket.string()};
        argv.insert(argv.end(), args.begin(), args.end());
        argv = target_command(std::move(argv));
        std::vector<char*> raw;
        for (auto& a : argv) raw.push_back(a.data());
        raw.push_back(nullptr);
        auto out_path = dir_ / "cli.out";
        auto err_path = dir_ / "cli.err";
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
        pid_t pid = -1;
        // spawnp: in a cross build raw[0] is the emulator, named without a path.
        int rc = posix_spawnp(&pid, raw[0], &actions, nullptr, raw.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        CliResult result;
        if (rc != 0) {
            ADD_FAILURE() << "cannot spawn " << raw[0];
            return result;
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        int status = 0;
        while (::waitpid(pid, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, &status, 0);
                ADD_FAILURE() << "fieldlog did not finish: " << args.front();
                return result;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (auto out = read_file(out_path, 64 << 20)) result.out = std::move(*out);
        if (auto err = read_file(err_path, 1 << 20)) result.err = std::move(*err);
        return result;
    }

    // Runs a --json command that must succeed and returns its result.
    json::object ok(std::vector<std::string> args) {
        args.push_back("--json");
        CliResult r = cli(args);
        EXPECT_EQ(r.exit_code, 0) << args.front() << ": " << r.err;
        boost::system::error_code ec;
        json::value v = json::parse(r.out, ec);
        EXPECT_FALSE(ec) << "not JSON: " << r.out;
        return v.is_object() ? v.as_object() : json::object{};
    }

    TempDir dir_;
    std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(InspectionFlow, RecordsAWholeVisitAndExportsIt) {
    auto status = ok({"status"});
    EXPECT_EQ(status.at("device_id").as_string(), "test-device");

    // Wastewater discharge check with an exceedance and the plant's own monitor reading.
    auto started =
        ok({"inspection", "start", "--site", "wwtp-east", "--kind", "wastewater_discharge",
            "--inspector", "Li Wei", "--inspector", "Zhang Min"});
    std::string visit(started.at("inspection").at("id").as_string());
    auto cod = ok({"measure", "add", "COD", "75", "mg/L", "--point", "outfall"});
    EXPECT_EQ(cod.at("measurement").at("verdict").as_string(), "exceeds");
    EXPECT_DOUBLE_EQ(cod.at("measurement").at("exceedance_ratio").to_number<double>(), 0.5);
    ok({"measure", "add", "COD", "68", "g/m3", "--point", "outfall", "--method", "online"});
    auto list = ok({"measure", "list"});
    ASSERT_EQ(list.at("comparisons").as_array().size(), 1u);
    EXPECT_DOUBLE_EQ(list.at("comparisons").as_array()[0].at("difference").to_number<double>(), -7);

    // A negative reading is refused with the reason, and nothing is saved.
    CliResult negative = cli({"measure", "add", "COD", "-3", "mg/L"});
    EXPECT_EQ(negative.exit_code, 7);
    EXPECT_NE(negative.err.find("negative"), std::string::npos) << negative.err;

    // Tagged evidence photos.
    JpegFixture drums;
    drums.exif_datetime = "2026:11:25 10:42:17";
    drums.exif_offset = "+08:00";
    drums.lat = 32.0871;
    drums.lon = 120.9603;
    write_test_jpeg(dir_ / "IMG_0001.jpg", drums);
    JpegFixture shed;
    shed.seed = 2;
    write_test_jpeg(dir_ / "IMG_0002.jpg", shed);
    auto photo = ok({"photo", "add", (dir_ / "IMG_0001.jpg").string(), "--tag", "unlabeled drums",
                     "--tag", "open storage", "--caption", "Drums by the sludge shed"});
    EXPECT_EQ(photo.at("photo").at("tags").as_array().size(), 2u);
    EXPECT_EQ(photo.at("photo").at("sha256").as_string().size(), 64u);
    EXPECT_NEAR(photo.at("photo").at("exif_lat").to_number<double>(), 32.0871, 1e-6);
    ok({"photo", "add", (dir_ / "IMG_0002.jpg").string(), "--tag", "missing leachate collection"});

    // A rectification item found on this visit.
    ok({"rectification", "add", "--problem", "Outfall COD above the 1A limit", "--responsible",
        "Plant operations manager", "--deadline", "2030-01-01"});
    ok({"inspection", "close", "--verdict", "COD above limit; rectification ordered"});

    // A complaint verified on a second visit.
    ok({"complaint", "add", "X3-017", "--batch", "3", "--summary", "Odour at night"});
    ok({"complaint", "forward", "X3-017", "--unit", "District environmental bureau"});
    auto second = ok({"inspection", "start", "--site", "dyeworks-b12", "--kind",
                      "complaint_verification", "--inspector", "Li Wei"});
    ok({"complaint", "update", "X3-017", "--status", "closed", "--finding", "substantiated",
        "--inspection", std::string(second.at("inspection").at("id").as_string())});
    EXPECT_EQ(ok({"complaint", "summary"}).at("text").as_string(),
              "1 complaint: 1 closed (1 substantiated)");
    ok({"inspection", "close"});

    // The export holds both visits with their readings and photos.
    auto export_path = dir_ / "export.json";
    CliResult exported = cli({"export", "--from", "2020-01-01", "--to", "2099-12-31", "--format",
                              "json", "--output", export_path.string()});
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
    json::value doc = json::parse(read_file(export_path, 16 << 20).value());
    const auto& inspections = doc.at("inspections").as_array();
    ASSERT_EQ(inspections.size(), 2u);
    const auto& first =
        inspections[0].at("id").as_string() == visit ? inspections[0] : inspections[1];
    EXPECT_EQ(first.at("measurements").as_array().size(), 2u);
    EXPECT_EQ(first.at("photos").as_array().size(), 2u);
    EXPECT_EQ(doc.at("complaints").as_array().size(), 1u);
    EXPECT_EQ(doc.at("rectifications").as_array().size(), 1u);
    auto csv_path = dir_ / "export.csv";
    ASSERT_EQ(cli({"export", "--from", "2020-01-01", "--to", "2099-12-31", "--format", "csv",
                   "--output", csv_path.string()})
                  .exit_code,
              0);
    std::string csv = read_file(csv_path, 16 << 20).value();
    EXPECT_NE(
        csv.find("\r\nmeasurement," + std::string(cod.at("measurement").at("id").as_string())),
        std::string::npos);

    // Everything recorded verifies, and the daemon stops cleanly.
    CliResult verified = cli({"verify"});
    EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
    EXPECT_NE(verified.out.find("evidence chain OK"), std::string::npos) << verified.out;
    ASSERT_TRUE(daemon_->kill(SIGTERM));
    auto exit = daemon_->wait_exit();
    ASSERT_TRUE(exit);
    EXPECT_TRUE(exit->exited() && exit->code() == 0) << exit->describe();
}

TEST_F(InspectionFlow, CliReportsUnreachableDaemonAndUsageErrors) {
    CliResult usage = cli({"measure", "add", "COD", "seventy", "mg/L"});
    EXPECT_EQ(usage.exit_code, 2) << usage.err;
    ASSERT_TRUE(daemon_->kill(SIGTERM));
    ASSERT_TRUE(daemon_->wait_exit());
    CliResult gone = cli({"status"});
    EXPECT_EQ(gone.exit_code, 3) << gone.err;
}

}  // namespace
}  // namespace fieldlog::testing
