// The camera inbox: the folder that new evidence photos land in (from the camera app, a card
// reader or a transfer over USB), and the hand-off of each complete JPEG to whoever ingests it.
#pragma once

#include <filesystem>
#include <functional>
#include <string_view>

#include "fieldlog/error.hpp"

namespace fieldlog::camera {

// Takes one complete JPEG. What ingesting means is the handler's to decide (the daemon copies it
// into the blob store and moves it out); its error is passed on to the SkipHandler.
using PhotoHandler = std::function<Status(const std::filesystem::path& path)>;

// Hears of each file passed over, and why: not a JPEG, gone before it could be offered, still an
// incomplete JPEG after it stopped changing, refused by the PhotoHandler. Also hears, with the
// folder's path, that the watch itself failed. Meant for the device log.
using SkipHandler = std::function<void(const std::filesystem::path& path, const Error& why)>;

// The names the inbox considers: *.jpg and *.jpeg in any case, except hidden files (".x.jpg"),
// which are temporary files of copy tools or AppleDouble companions, never photos.
bool is_inbox_photo_name(std::string_view filename);

// Each file is offered at most once per run, identified by device, inode, size and mtime: a file
// rewritten with new content is a new file. Files skipped are not retried during the run.
class CameraInbox {
public:
    virtual ~CameraInbox() = default;
    // Begins offering photos on the event loop, never inside this call. Both handlers may stop
    // or destroy the inbox.
    [[nodiscard]] virtual Status start(PhotoHandler on_photo, SkipHandler on_skip) = 0;
    // No handler runs after this returns.
    virtual void stop() = 0;
};

}  // namespace fieldlog::camera
