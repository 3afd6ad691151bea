// A full data disk: the write that does not fit fails with a clear no_space error and leaves
// nothing behind, what was saved stays readable and verifiable, and writes work again once
// space is back. The disk is a small tmpfs mounted in a mount namespace of the daemon's own, so
// the host is untouched; the test talks to the daemon only over its socket, which lives in the
// ordinary temp dir.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "daemon_process.hpp"
#include "jpeg_fixture.hpp"
#include "target_command.hpp"
#include "temp_dir.hpp"

namespace fieldlog::testing {
namespace {

namespace json = boost::json;

// Mounts the tmpfs on the data dir, takes 1 MiB of it as ballast the test can later free, then
// becomes fieldlogd: the spawned pid stays the daemon's. $1 data dir, then the daemon's command
// line (target_command: through the emulator in a cross build).
constexpr const char* mount_and_exec =
    "set -e; mount -t tmpfs -o size=3m,mode=0750 tmpfs \"$1\"; "
    "dd if=/dev/zero of=\"$1/ballast\" bs=64k count=16 2>/dev/null; "
    "shift; exec \"$@\"";

std::vector<std::string> in_private_mount_namespace(std::vector<std::string> command) {
    std::vector<std::string> argv{"unshare", "--mount", "--propagation", "private"};
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
}

json::object document(std::int64_t batch, std::size_t notes_bytes) {
    return {{"batch_number", batch},
            {"items", 2},
            {"documents", 5},
            {"topics", json::array{"discharge permit"}},
            {"notes", std::string(notes_bytes, static_cast<char>('a' + batch % 26))}};
}

std::set<std::int64_t> stored_batches(const DaemonProcess& daemon) {
    std::set<std::int64_t> batches;
    auto list = daemon.ok("document.list");
    if (list.empty()) return batches;
    for (const auto& b : list.at("document_batches").as_array()) {
        batches.insert(b.at("batch_number").as_int64());
    }
    return batches;
}

void expect_verified(const DaemonProcess& daemon) {
    auto verified = daemon.ok("verify");
    EXPECT_TRUE(!verified.empty() && verified.at("ok").as_bool()) << json::value(verified);
}

TEST(FullDisk, WriteOnAFullDiskFailsWithNoSpaceAndWorksAgainOnceSpaceIsBack) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to mount a tmpfs in a private mount namespace (unshare)";
    }
    TempDir dir;
    auto config = default_daemon_config(dir.path());
    config.data_dir = dir / "disk";
    std::filesystem::create_directories(config.data_dir);
    {
        // unshare may be missing or refused (a container without CAP_SYS_ADMIN): skip then.
        auto probe = run_command(
            in_private_mount_namespace({"sh", "-c", "mount -t tmpfs -o size=1m tmpfs \"$1\"", "sh",
                                        config.data_dir.string()}),
            dir / "probe.out", daemon_start_timeout);
        if (!probe || !probe->exited() || probe->code() != 0) {
            std::ifstream in(dir / "probe.out");
            std::string why(std::istreambuf_iterator<char>(in), {});
            GTEST_SKIP() << "cannot mount a tmpfs in a private mount namespace: "
                         << (probe ? probe->describe() : "did not run") << " " << why;
        }
    }

    DaemonProcess daemon(dir.path(), config);
    std::vector<std::string> wrapper{"sh", "-c", mount_and_exec, "sh", config.data_dir.string()};
    for (auto& word : target_command(
             {DaemonProcess::executable().string(), "--config", daemon.config_path().string()})) {
        wrapper.push_back(std::move(word));
    }
    ASSERT_TRUE(daemon.start_command(in_private_mount_namespace(std::move(wrapper))));
    // The daemon's disk is its own: the host sees an empty directory, the daemon the ballast.
    const std::filesystem::path daemon_view = std::filesystem::path("/proc") /
                                              std::to_string(daemon.pid()) / "root" /
                                              config.data_dir.relative_path();
    EXPECT_FALSE(std::filesystem::exists(config.data_dir / "ballast"));
    ASSERT_TRUE(std::filesystem::exists(daemon_view / "ballast"));
    ASSERT_TRUE(std::filesystem::exists(daemon_view / "fieldlog.db"));
    ASSERT_FALSE(daemon
                     .ok("inspection.start", {{"site_id", "wwtp-east"},
                                              {"kind", "wastewater_discharge"},
                                              {"inspectors", json::array{"Li Wei"}}})
                     .empty());

    // Fill the disk. Each batch carries 4000 bytes of notes, so a 2 MiB hole fills in well
    // under a thousand writes.
    std::vector<std::int64_t> saved;
    std::optional<json::value> refusal;
    std::int64_t refused_batch = 0;
    for (std::int64_t batch = 1; batch <= 1000 && !refusal; ++batch) {
        auto reply =
            daemon.request(json::object{{"op", "document.add"}, {"args", document(batch, 4000)}});
        ASSERT_TRUE(reply) << "no reply to document.add " << batch << "; output:\n"
                           << daemon.output();
        if (reply->at("ok").as_bool()) {
            saved.push_back(batch);
        } else {
            refusal = *reply;
            refused_batch = batch;
        }
    }
    ASSERT_TRUE(refusal) << "the 3 MiB disk never filled";
    EXPECT_EQ(error_code(*refusal), "no_space") << *refusal;
    EXPECT_NE(error_message(*refusal).find("disk is full"), std::string::npos) << *refusal;
    ASSERT_FALSE(saved.empty()) << "the very first write failed: " << *refusal;
    std::cout << "[ full     ] disk full after " << saved.size() << " document batches\n";

    // A photo does not fit either: its blob write fails the same way and leaves no temp file.
    JpegFixture fixture;
    fixture.width = 4096;
    fixture.height = 4096;
    fixture.seed = 7;
    const auto photo = dir / "evidence.jpg";
    write_test_jpeg(photo, fixture);
    ASSERT_GT(std::filesystem::file_size(photo), 256u * 1024u) << "photo too small to overflow";
    auto photo_reply =
        daemon.request(json::object{{"op", "photo.add"}, {"args", {{"path", photo.string()}}}});
    ASSERT_TRUE(photo_reply);
    EXPECT_EQ(error_code(*photo_reply), "no_space") << *photo_reply;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(daemon_view / "blobs")) {
        EXPECT_NE(entry.path().extension(), ".tmp") << "left behind: " << entry.path();
    }

    // Still running; reads work, everything saved is there, the refused write left nothing.
    ASSERT_TRUE(daemon.running()) << daemon.output();
    EXPECT_FALSE(daemon.ok("status").empty());
    auto batches = stored_batches(daemon);
    EXPECT_EQ(batches, std::set<std::int64_t>(saved.begin(), saved.end()));
    expect_verified(daemon);

    // Space comes back: the refused batch can now be saved (it did not half-exist), and more.
    ASSERT_TRUE(std::filesystem::remove(daemon_view / "ballast"));
    auto retried = daemon.ok("document.add", document(refused_batch, 4000));
    ASSERT_FALSE(retried.empty());
    saved.push_back(refused_batch);
    for (std::int64_t batch = refused_batch + 1; batch < refused_batch + 4; ++batch) {
        ASSERT_FALSE(daemon.ok("document.add", document(batch, 100)).empty());
        saved.push_back(batch);
    }
    auto stored_photo = daemon.ok("photo.add", {{"path", photo.string()}});
    ASSERT_FALSE(stored_photo.empty());
    EXPECT_EQ(stored_photo.at("photo").at("size").as_int64(),
              static_cast<std::int64_t>(std::filesystem::file_size(photo)));
    EXPECT_EQ(stored_batches(daemon), std::set<std::int64_t>(saved.begin(), saved.end()));
    expect_verified(daemon);

    ASSERT_TRUE(daemon.kill(SIGTERM));
    auto exit = daemon.wait_exit();
    ASSERT_TRUE(exit);
    EXPECT_TRUE(exit->exited() && exit->code() == 0) << exit->describe() << "\n" << daemon.output();
}

}  // namespace
}  // namespace fieldlog::testing
