// The real camera inbox: a folder watched through inotify.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>

#include "fieldlog/camera/camera_inbox.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::camera {

struct InotifyInboxConfig {
    std::filesystem::path dir;
    // A file whose writer never closes it (or is not seen to) counts as written once its size and
    // mtime have held this long. A closed or renamed-in file is checked at once.
    std::chrono::milliseconds settle_time{2000};
};

// Checks that dir is set and settle_time is 10 ms to 10 minutes.
[[nodiscard]] Status validate(const InotifyInboxConfig& config);

// The inotify fd is handed to the event loop: an idle inbox wakes nothing, and a timer runs only
// while some file is still being written. Reacts to IN_CLOSE_WRITE and IN_MOVED_TO (complete
// now), IN_CREATE and IN_MODIFY (being written: wait for it to settle), IN_DELETE and
// IN_MOVED_FROM (gone: reported if it was waiting). A file is offered only once it is a complete
// JPEG: it starts with FF D8 FF and ends with FF D9, as read_jpeg_metadata requires. Files in the
// folder at start are offered too; after an event-queue overflow the folder is scanned again.
// The folder is watched, not its subfolders.
class InotifyCameraInbox final : public CameraInbox {
public:
    InotifyCameraInbox(boost::asio::io_context& io, InotifyInboxConfig config);
    ~InotifyCameraInbox() override;
    InotifyCameraInbox(const InotifyCameraInbox&) = delete;
    InotifyCameraInbox& operator=(const InotifyCameraInbox&) = delete;

    // Fails when the config is bad, the folder is missing or inotify is out of watches.
    [[nodiscard]] Status start(PhotoHandler on_photo, SkipHandler on_skip) override;
    void stop() override;

    // Files seen but not yet complete.
    std::size_t pending() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace fieldlog::camera
