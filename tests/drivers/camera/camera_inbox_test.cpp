#include "fieldlog/camera/camera_inbox.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "fieldlog/camera/inotify_camera_inbox.hpp"
#include "fieldlog/camera/simulated_camera_inbox.hpp"
#include "fieldlog/files.hpp"
#include "jpeg_fixture.hpp"
#include "temp_dir.hpp"

namespace fieldlog::camera {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using fieldlog::testing::JpegFixture;
using fieldlog::testing::make_test_jpeg;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::uint8_t> photo(std::uint32_t seed) {
    JpegFixture fixture;
    fixture.seed = seed;
    fixture.exif_datetime = "2026:11:25 10:04:05";
    return make_test_jpeg(fixture);
}

void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
}

struct Skip {
    fs::path path;
    Error error;
};

enum class Backend { simulated, inotify };

void PrintTo(Backend backend, std::ostream* out) {
    *out << (backend == Backend::simulated ? "simulated" : "inotify");
}

class InboxTest : public ::testing::Test {
protected:
    fs::path inbox_dir() const { return dir_ / "inbox"; }

    void SetUp() override { fs::create_directory(inbox_dir()); }

    void use_inotify(std::chrono::milliseconds settle_time = 150ms) {
        auto inbox =
            std::make_unique<InotifyCameraInbox>(io_, InotifyInboxConfig{inbox_dir(), settle_time});
        inotify_ = inbox.get();
        inbox_ = std::move(inbox);
    }
    void use_simulated() {
        auto inbox = std::make_unique<SimulatedCameraInbox>(io_);
        simulated_ = inbox.get();
        inbox_ = std::move(inbox);
    }

    void start() {
        auto started = inbox_->start(
            [this](const fs::path& path) -> Status {
                std::error_code ec;
                offered_.push_back(path.filename().string());
                offered_sizes_.push_back(fs::file_size(path, ec));
                if (on_photo_) {
                    return on_photo_(path);
                }
                return {};
            },
            [this](const fs::path& path, const Error& why) {
                skipped_.push_back({path, why});
            });
        ASSERT_TRUE(started) << started.error().to_string();
    }

    // Makes a file appear complete in the folder the way careful writers do: under a temporary
    // name first, then renamed in (IN_MOVED_TO). The simulated inbox is told by hand.
    fs::path place(const std::string& name, const std::vector<std::uint8_t>& bytes) {
        auto tmp = inbox_dir() / ("." + name + ".part");
        write_bytes(tmp, bytes);
        fs::rename(tmp, inbox_dir() / name);
        announce(name);
        return inbox_dir() / name;
    }
    void announce(const std::string& name) {
        if (simulated_ != nullptr) {
            simulated_->push(inbox_dir() / name);
        }
    }

    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds deadline = 5s) {
        const auto until = std::chrono::steady_clock::now() + deadline;
        while (!done()) {
            if (std::chrono::steady_clock::now() >= until) {
                return done();
            }
            if (io_.stopped()) {
                io_.restart();
            }
            io_.run_for(2ms);
        }
        return true;
    }
    // Runs the loop for a while to show that nothing more happens; returns the handlers run.
    std::size_t run_for(std::chrono::milliseconds time) {
        std::size_t handlers = 0;
        const auto until = std::chrono::steady_clock::now() + time;
        while (std::chrono::steady_clock::now() < until) {
            if (io_.stopped()) {
                io_.restart();
            }
            handlers += io_.run_for(5ms);
        }
        return handlers;
    }

    fieldlog::testing::TempDir dir_;
    boost::asio::io_context io_;
    std::unique_ptr<CameraInbox> inbox_;
    InotifyCameraInbox* inotify_ = nullptr;
    SimulatedCameraInbox* simulated_ = nullptr;
    std::function<Status(const fs::path&)> on_photo_;
    std::vector<std::string> offered_;
    std::vector<std::uintmax_t> offered_sizes_;
    std::vector<Skip> skipped_;
};

class CameraInboxOn : public InboxTest, public ::testing::WithParamInterface<Backend> {
protected:
    void SetUp() override {
        InboxTest::SetUp();
        if (GetParam() == Backend::simulated) {
            use_simulated();
        } else {
            use_inotify();
        }
        start();
    }
};

TEST_P(CameraInboxOn, OffersACompleteJpegOnce) {
    place("IMG_0001.jpg", photo(1));
    ASSERT_TRUE(run_until([&] { return !offered_.empty(); }));
    run_for(300ms);
    EXPECT_THAT(offered_, ElementsAre("IMG_0001.jpg"));
    EXPECT_THAT(offered_sizes_, ElementsAre(photo(1).size()));
    EXPECT_TRUE(skipped_.empty());
}

TEST_P(CameraInboxOn, ReportsAndSkipsAFileThatIsNotAJpeg) {
    std::string text = "<html>not a photo</html>";
    place("notes.jpg", std::vector<std::uint8_t>(text.begin(), text.end()));
    ASSERT_TRUE(run_until([&] { return !skipped_.empty(); }));
    run_for(300ms);
    ASSERT_EQ(skipped_.size(), 1u);
    EXPECT_EQ(skipped_[0].path.filename(), "notes.jpg");
    EXPECT_EQ(skipped_[0].error.code(), Errc::invalid_argument);
    EXPECT_THAT(skipped_[0].error.message(), HasSubstr("not a JPEG: it starts with 3c 68 74"));
    EXPECT_THAT(offered_, IsEmpty());
}

TEST_P(CameraInboxOn, ReportsAndSkipsAFileRemovedBeforeIngest) {
    auto path = place("IMG_0002.jpg", photo(2));
    fs::remove(path);
    ASSERT_TRUE(run_until([&] { return !skipped_.empty(); }));
    run_for(300ms);
    ASSERT_EQ(skipped_.size(), 1u);
    EXPECT_EQ(skipped_[0].error.code(), Errc::not_found);
    EXPECT_THAT(skipped_[0].error.message(), HasSubstr("IMG_0002.jpg vanished"));
    EXPECT_THAT(offered_, IsEmpty());
}

TEST_P(CameraInboxOn, ReportsATruncatedJpegOnceItStopsChanging) {
    auto bytes = photo(3);
    bytes.resize(bytes.size() / 2);
    place("IMG_0003.jpg", bytes);
    ASSERT_TRUE(run_until([&] { return !skipped_.empty(); }));
    run_for(300ms);
    ASSERT_EQ(skipped_.size(), 1u);
    EXPECT_THAT(skipped_[0].error.message(), HasSubstr("incomplete JPEG"));
    EXPECT_THAT(offered_, IsEmpty());
}

TEST_P(CameraInboxOn, PassesTheHandlersErrorOnAndDoesNotRetry) {
    on_photo_ = [](const fs::path&) -> Status { return Error(Errc::no_space, "blob store full"); };
    place("IMG_0004.jpg", photo(4));
    ASSERT_TRUE(run_until([&] { return !skipped_.empty(); }));
    run_for(300ms);
    EXPECT_THAT(offered_, ElementsAre("IMG_0004.jpg"));
    ASSERT_EQ(skipped_.size(), 1u);
    EXPECT_EQ(skipped_[0].error.code(), Errc::no_space);
}

TEST_P(CameraInboxOn, AHandlerMayStopTheInbox) {
    on_photo_ = [this](const fs::path&) -> Status {
        inbox_->stop();
        return {};
    };
    place("a.jpg", photo(5));
    place("b.jpg", photo(6));
    ASSERT_TRUE(run_until([&] { return !offered_.empty(); }));
    run_for(300ms);
    EXPECT_EQ(offered_.size(), 1u);
}

TEST_P(CameraInboxOn, NothingIsOfferedAfterStop) {
    place("c.jpg", photo(7));
    inbox_->stop();
    run_for(300ms);
    EXPECT_THAT(offered_, IsEmpty());
    EXPECT_THAT(skipped_, IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Backends, CameraInboxOn,
                         ::testing::Values(Backend::simulated, Backend::inotify),
                         [](const ::testing::TestParamInfo<Backend>& param) {
                             return param.param == Backend::simulated ? "simulated" : "inotify";
                         });

// A writer that keeps its file open: nothing is offered while it writes.
class OpenWriter {
public:
    explicit OpenWriter(const fs::path& path)
        : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) {}
    bool ok() const { return static_cast<bool>(fd_); }
    void write(const std::uint8_t* data, std::size_t size) {
        ASSERT_EQ(::write(fd_.get(), data, size), static_cast<ssize_t>(size));
    }
    void close() { fd_.reset(); }

private:
    UniqueFd fd_;
};

using InotifyInbox = InboxTest;

TEST_F(InotifyInbox, OffersFilesAlreadyThereAtStartOnce) {
    for (std::uint32_t i = 0; i < 3; ++i) {
        auto path = inbox_dir() / ("old_" + std::to_string(i) + ".jpg");
        write_bytes(path, photo(i));
        fs::last_write_time(path, fs::file_time_type::clock::now() - 1h);
    }
    write_bytes(inbox_dir() / "fresh.jpg", photo(9));
    use_inotify(150ms);
    start();
    ASSERT_TRUE(run_until([&] { return offered_.size() >= 4; }));
    run_for(400ms);
    EXPECT_EQ(std::set<std::string>(offered_.begin(), offered_.end()),
              (std::set<std::string>{"old_0.jpg", "old_1.jpg", "old_2.jpg", "fresh.jpg"}));
    EXPECT_EQ(offered_.size(), 4u);
    EXPECT_THAT(skipped_, IsEmpty());
}

TEST_F(InotifyInbox, OffersAFileRenamedIntoPlaceWithoutWaitingToSettle) {
    use_inotify(60s);
    start();
    place("IMG_0100.jpg", photo(100));
    ASSERT_TRUE(run_until([&] { return !offered_.empty(); }, 10s));
    EXPECT_THAT(offered_, ElementsAre("IMG_0100.jpg"));
}

TEST_F(InotifyInbox, OffersASlowlyWrittenFileOnlyOnceItIsComplete) {
    use_inotify(60s);  // the close alone must complete the file here
    start();
    auto bytes = photo(11);
    OpenWriter writer(inbox_dir() / "IMG_0011.jpg");
    ASSERT_TRUE(writer.ok());
    const std::size_t piece = bytes.size() / 4 + 1;
    for (std::size_t at = 0; at < bytes.size(); at += piece) {
        writer.write(bytes.data() + at, std::min(piece, bytes.size() - at));
        run_for(20ms);
        EXPECT_THAT(offered_, IsEmpty()) << "offered after " << at + piece << " bytes";
    }
    EXPECT_EQ(inotify_->pending(), 1u);
    writer.close();
    ASSERT_TRUE(run_until([&] { return !offered_.empty(); }));
    EXPECT_THAT(offered_, ElementsAre("IMG_0011.jpg"));
    EXPECT_THAT(offered_sizes_, ElementsAre(bytes.size()));
    EXPECT_THAT(skipped_, IsEmpty());
    EXPECT_EQ(inotify_->pending(), 0u);
}

TEST_F(InotifyInbox, OffersAFileWhoseWriterNeverClosesOnceItSettles) {
    use_inotify(400ms);
    start();
    auto bytes = photo(12);
    OpenWriter writer(inbox_dir() / "IMG_0012.jpg");
    ASSERT_TRUE(writer.ok());
    const std::size_t half = bytes.size() / 2;
    writer.write(bytes.data(), half);
    run_for(10ms);
    writer.write(bytes.data() + half, bytes.size() - half);
    ASSERT_TRUE(run_until([&] { return !offered_.empty(); }));
    EXPECT_THAT(offered_sizes_, ElementsAre(bytes.size()));
    writer.close();  // the close of the same content offers nothing new
    run_for(200ms);
    EXPECT_EQ(offered_.size(), 1u);
    EXPECT_THAT(skipped_, IsEmpty());
}

TEST_F(InotifyInbox, OffersEachOfABurstOfTwentyFilesExactlyOnce) {
    use_inotify(150ms);
    start();
    for (std::uint32_t i = 0; i < 20; ++i) {
        write_bytes(inbox_dir() / ("burst_" + std::to_string(i) + ".jpg"), photo(200 + i));
    }
    ASSERT_TRUE(run_until([&] { return offered_.size() >= 20; }));
    run_for(400ms);
    EXPECT_EQ(offered_.size(), 20u);
    EXPECT_EQ(std::set<std::string>(offered_.begin(), offered_.end()).size(), 20u);
    EXPECT_THAT(skipped_, IsEmpty());
}

TEST_F(InotifyInbox, ConsidersJpegNamesInAnyCaseAndIgnoresTheRest) {
    use_inotify(100ms);
    start();
    write_bytes(inbox_dir() / "IMG_0001.JPG", photo(1));
    write_bytes(inbox_dir() / "scan.JpEg", photo(2));
    write_bytes(inbox_dir() / "notes.txt", photo(3));
    write_bytes(inbox_dir() / ".hidden.jpg", photo(4));
    write_bytes(inbox_dir() / "upload.jpg.part", photo(5));
    ASSERT_TRUE(run_until([&] { return offered_.size() >= 2; }));
    run_for(300ms);
    EXPECT_EQ(std::set<std::string>(offered_.begin(), offered_.end()),
              (std::set<std::string>{"IMG_0001.JPG", "scan.JpEg"}));
    EXPECT_THAT(skipped_, IsEmpty());
}

TEST_F(InotifyInbox, ReportsAFileRemovedWhileBeingWritten) {
    use_inotify(60s);
    start();
    auto bytes = photo(13);
    OpenWriter writer(inbox_dir() / "IMG_0013.jpg");
    ASSERT_TRUE(writer.ok());
    writer.write(bytes.data(), bytes.size() / 2);
    ASSERT_TRUE(run_until([&] { return inotify_->pending() == 1; }));
    fs::remove(inbox_dir() / "IMG_0013.jpg");
    ASSERT_TRUE(run_until([&] { return !skipped_.empty(); }));
    writer.close();
    run_for(200ms);
    ASSERT_EQ(skipped_.size(), 1u);
    EXPECT_THAT(skipped_[0].error.message(), HasSubstr("vanished"));
    EXPECT_THAT(offered_, IsEmpty());
    EXPECT_EQ(inotify_->pending(), 0u);
}

TEST_F(InotifyInbox, OffersARewriteWithNewContentButNotAMereReopen) {
    use_inotify(100ms);
    start();
    auto path = place("IMG_0014.jpg", photo(14));
    ASSERT_TRUE(run_until([&] { return offered_.size() == 1; }));
    write_bytes(path, photo(15));
    ASSERT_TRUE(run_until([&] { return offered_.size() == 2; }));
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(fd);
    fd.reset();  // IN_CLOSE_WRITE with nothing changed
    run_for(300ms);
    EXPECT_EQ(offered_.size(), 2u);
}

TEST_F(InotifyInbox, IdleInboxWakesNothing) {
    use_inotify(100ms);
    start();
    place("IMG_0016.jpg", photo(16));
    ASSERT_TRUE(run_until([&] { return offered_.size() == 1; }));
    run_for(300ms);  // let any settle timer run out
    EXPECT_EQ(run_for(300ms), 0u) << "no timer or wait completes while nothing happens";
}

TEST_F(InotifyInbox, ReportsTheFolderGoingAway) {
    use_inotify(100ms);
    start();
    run_for(20ms);
    fs::remove_all(inbox_dir());
    ASSERT_TRUE(run_until([&] { return !skipped_.empty(); }));
    EXPECT_EQ(skipped_[0].path, inbox_dir());
    EXPECT_EQ(skipped_[0].error.code(), Errc::unavailable);
    EXPECT_THAT(skipped_[0].error.message(), HasSubstr("watching stopped"));
}

TEST_F(InotifyInbox, StartFailsForAMissingFolderOrBadConfig) {
    InotifyCameraInbox missing(io_, {dir_ / "nope", 1s});
    auto started = missing.start({}, {});
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().code(), Errc::not_found);
    EXPECT_THAT(started.error().message(), HasSubstr("nope"));

    InotifyCameraInbox hasty(io_, {inbox_dir(), 1ms});
    started = hasty.start({}, {});
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().code(), Errc::invalid_argument);
}

TEST(InboxPhotoName, AcceptsJpegExtensionsInAnyCaseOnly) {
    EXPECT_TRUE(is_inbox_photo_name("a.jpg"));
    EXPECT_TRUE(is_inbox_photo_name("A.JPEG"));
    EXPECT_TRUE(is_inbox_photo_name("x.y.Jpg"));
    EXPECT_FALSE(is_inbox_photo_name(".jpg"));
    EXPECT_FALSE(is_inbox_photo_name(".a.jpg"));
    EXPECT_FALSE(is_inbox_photo_name("a.jpg~"));
    EXPECT_FALSE(is_inbox_photo_name("a.png"));
    EXPECT_FALSE(is_inbox_photo_name("jpg"));
    EXPECT_FALSE(is_inbox_photo_name(""));
}

TEST(SimulatedCameraInbox, OffersPathsPushedBeforeStartOnceStarted) {
    testing::TempDir dir;
    boost::asio::io_context io;
    write_bytes(dir / "a.jpg", photo(1));
    SimulatedCameraInbox inbox(io);
    inbox.push(dir / "a.jpg");
    inbox.push(dir / "a.jpg");
    std::vector<fs::path> offered;
    ASSERT_TRUE(inbox.start(
        [&](const fs::path& path) -> Status {
            offered.push_back(path);
            return {};
        },
        {}));
    io.run();
    EXPECT_THAT(offered, ElementsAre(dir / "a.jpg"));
}

}  // namespace
}  // namespace fieldlog::camera
