// Abandoned photo uploads: the server removes partial files (and their upload state) that no
// chunk has reached for longer than uploads.partial_max_age_s, and nothing else. Real files on
// disk; time moves by the server's injected clock and by setting the files' mtime.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "server_harness.hpp"

namespace fieldlog::server::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t day_ms = 24 * 3600 * 1000;
constexpr std::int64_t max_age_ms = 7 * day_ms;  // the default

// Sets a file's modification time, as the last chunk written at wall-clock ms would have.
void set_mtime(const std::filesystem::path& path, std::int64_t ms) {
    timespec times[2];
    times[0].tv_sec = ms / 1000;
    times[0].tv_nsec = (ms % 1000) * 1'000'000;
    times[1] = times[0];
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

bool is_removal(const boost::json::object& line) {
    const boost::json::value* event = line.if_contains("event");
    return event != nullptr && event->is_string() &&
           event->get_string() == "partial_upload_removed";
}

class PartialUploadSweep : public ::testing::Test {
protected:
    explicit PartialUploadSweep(const TestServer::Tweak& tweak = nullptr)
        : server_(std::make_unique<TestServer>(dir_, tweak)) {
        token_ = server_->enrol("cam-01");
    }

    struct Photo {
        std::string bytes;
        std::string sha;
    };
    static Photo photo(unsigned seed) {
        Photo p{random_bytes(3 * chunk_, seed), {}};
        p.sha = to_hex(sha256(p.bytes));
        return p;
    }

    HttpReply patch_chunk(const Photo& p, int index) {
        HttpHeaders headers{{"Authorization", "Bearer " + token_},
                            {"Content-Type", "application/offset+octet-stream"},
                            {"Upload-Offset", std::to_string(index * chunk_)},
                            {"Upload-Length", std::to_string(p.bytes.size())}};
        return server_->client()
            .request("PATCH", target(p.sha), headers,
                     std::string_view(p.bytes).substr(index * chunk_, chunk_))
            .value();
    }
    HttpReply head(const std::string& sha) {
        HttpHeaders headers{{"Authorization", "Bearer " + token_}};
        return server_->client().request("HEAD", target(sha), headers).value();
    }
    static std::string target(const std::string& sha) { return "/v1/devices/cam-01/blobs/" + sha; }
    std::filesystem::path partial(const std::string& sha) const {
        return server_->data_dir() / "blobs" / "partial" / (sha + ".part");
    }
    std::filesystem::path complete(const std::string& sha) const {
        return server_->data_dir() / "blobs" / sha.substr(0, 2) / sha;
    }
    std::int64_t now() const { return server_->clock().now_ms.load(); }
    void set_now(std::int64_t ms) { server_->clock().now_ms = ms; }

    std::vector<std::string> removed_in_log() const {
        std::vector<std::string> out;
        for (const auto& line : server_->log_lines()) {
            auto o = parse_object(line);
            if (is_removal(o)) {
                out.emplace_back(o.at("sha256").as_string());
            }
        }
        return out;
    }

    static constexpr std::size_t chunk_ = 64 * 1024;
    fieldlog::testing::TempDir dir_;
    std::unique_ptr<TestServer> server_;
    std::string token_;
};

TEST_F(PartialUploadSweep, RemovesAnUploadAbandonedLongerThanTheAgeAndTheDeviceStartsOver) {
    const Photo p = photo(1);
    const std::int64_t started = now();
    ASSERT_EQ(patch_chunk(p, 0).status, 204);
    set_mtime(partial(p.sha), started);

    // At exactly the age it is still the device's.
    set_now(started + max_age_ms);
    EXPECT_EQ(server_->server().sweep_partial_uploads(), 0u);
    EXPECT_TRUE(std::filesystem::exists(partial(p.sha)));
    EXPECT_EQ(head(p.sha).header("Upload-Offset"), std::to_string(chunk_));

    set_now(started + max_age_ms + 1);
    EXPECT_EQ(server_->server().sweep_partial_uploads(), 1u);
    EXPECT_FALSE(std::filesystem::exists(partial(p.sha)));
    EXPECT_EQ(head(p.sha).status, 404);
    EXPECT_THAT(removed_in_log(), ::testing::ElementsAre(p.sha));
    std::vector<boost::json::object> removals;
    for (auto& line : server_->wait_for_log(is_removal)) {
        if (is_removal(line)) removals.push_back(std::move(line));
    }
    ASSERT_EQ(removals.size(), 1u);
    EXPECT_EQ(removals[0].at("level").as_string(), "info");
    EXPECT_EQ(removals[0].at("bytes").as_int64(), static_cast<std::int64_t>(chunk_));
    EXPECT_EQ(removals[0].at("upload_length").as_int64(),
              static_cast<std::int64_t>(p.bytes.size()));
    EXPECT_EQ(removals[0].at("last_activity").as_string(), format_utc_ms(started));

    // A device that comes back asks HEAD, gets 404 and uploads the photo whole.
    for (int i = 0; i < 3; ++i) EXPECT_EQ(patch_chunk(p, i).status, i < 2 ? 204 : 201);
    auto blob = server_->admin("GET", "/v1/blobs/" + p.sha);
    ASSERT_EQ(blob.status, 200);
    EXPECT_TRUE(blob.body == p.bytes);
}

TEST_F(PartialUploadSweep, KeepsAnUploadThatMovedMoreRecentlyThanTheAge) {
    const std::int64_t started = now();
    // A chunk recorded recently, though its file looks old.
    const Photo recorded = photo(2);
    ASSERT_EQ(patch_chunk(recorded, 0).status, 204);
    set_now(started + 6 * day_ms);
    ASSERT_EQ(patch_chunk(recorded, 1).status, 204);
    set_mtime(partial(recorded.sha), started);
    // A file written recently (a chunk whose state the store has not caught up with), though
    // its recorded state is old.
    set_now(started);
    const Photo written = photo(3);
    ASSERT_EQ(patch_chunk(written, 0).status, 204);
    set_mtime(partial(written.sha), started + 6 * day_ms);
    // And one abandoned beside them.
    const Photo abandoned = photo(4);
    ASSERT_EQ(patch_chunk(abandoned, 0).status, 204);
    set_mtime(partial(abandoned.sha), started);

    set_now(started + max_age_ms + 1);
    EXPECT_EQ(server_->server().sweep_partial_uploads(), 1u);
    EXPECT_THAT(removed_in_log(), ::testing::ElementsAre(abandoned.sha));
    EXPECT_EQ(head(recorded.sha).header("Upload-Offset"), std::to_string(2 * chunk_));
    EXPECT_EQ(head(written.sha).header("Upload-Offset"), std::to_string(chunk_));
    EXPECT_TRUE(std::filesystem::exists(partial(recorded.sha)));
    EXPECT_TRUE(std::filesystem::exists(partial(written.sha)));
    EXPECT_EQ(patch_chunk(recorded, 2).status, 201);
}

TEST_F(PartialUploadSweep, NeverRemovesACompleteBlob) {
    const Photo p = photo(5);
    const std::int64_t started = now();
    for (int i = 0; i < 3; ++i) ASSERT_EQ(patch_chunk(p, i).status, i < 2 ? 204 : 201);
    set_mtime(complete(p.sha), started);
    set_now(started + 10 * max_age_ms);
    EXPECT_EQ(server_->server().sweep_partial_uploads(), 0u);
    EXPECT_TRUE(std::filesystem::exists(complete(p.sha)));
    EXPECT_EQ(head(p.sha).header("Upload-Complete"), "?1");
    EXPECT_EQ(server_->admin("GET", "/v1/blobs/" + p.sha).status, 200);
}

TEST_F(PartialUploadSweep, RemovesStrayFilesAndStateLeftWithoutTheirFile) {
    const std::int64_t started = now();
    // A partial file with no state (a crash after the chunk's fsync, before its state).
    const Photo stray = photo(6);
    {
        std::ofstream out(partial(stray.sha), std::ios::binary);
        out << stray.bytes.substr(0, 1000);
    }
    set_mtime(partial(stray.sha), started);
    // State whose file is gone (a crash between removing the two).
    const Photo orphan = photo(7);
    ASSERT_EQ(patch_chunk(orphan, 0).status, 204);
    std::filesystem::remove(partial(orphan.sha));
    // A name that is not an upload's is not the server's to remove.
    const auto foreign = server_->data_dir() / "blobs" / "partial" / "notes.txt";
    {
        std::ofstream out(foreign);
        out << "kept";
    }
    set_mtime(foreign, started);

    set_now(started + max_age_ms + 1);
    EXPECT_EQ(server_->server().sweep_partial_uploads(), 2u);
    EXPECT_THAT(removed_in_log(), ::testing::UnorderedElementsAre(stray.sha, orphan.sha));
    EXPECT_FALSE(std::filesystem::exists(partial(stray.sha)));
    EXPECT_EQ(head(orphan.sha).status, 404);
    EXPECT_TRUE(std::filesystem::exists(foreign));
    // Nothing is left for the next sweep.
    EXPECT_EQ(server_->server().sweep_partial_uploads(), 0u);
}

class PartialUploadSweepTimer : public PartialUploadSweep {
protected:
    PartialUploadSweepTimer()
        : PartialUploadSweep([](ServerConfig& c) {
              c.partial_upload_max_age = std::chrono::seconds(60);
              c.partial_sweep_interval = std::chrono::seconds(1);
          }) {}
};

TEST_F(PartialUploadSweepTimer, TheServerSweepsByItself) {
    const Photo p = photo(8);
    const std::int64_t started = now();
    ASSERT_EQ(patch_chunk(p, 0).status, 204);
    set_mtime(partial(p.sha), started);
    set_now(started + 61'000);
    // Bounded wait for the timer's sweep (every second); nothing here calls it.
    for (int i = 0; i < 600 && removed_in_log().empty(); ++i) std::this_thread::sleep_for(50ms);
    EXPECT_THAT(removed_in_log(), ::testing::ElementsAre(p.sha));
    EXPECT_FALSE(std::filesystem::exists(partial(p.sha)));
    EXPECT_EQ(head(p.sha).status, 404);
}

}  // namespace
}  // namespace fieldlog::server::testing
