// The checks every camera inbox makes before it offers a file, and its memory of what it has
// offered or passed over.
#pragma once

#include <compare>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>

#include "fieldlog/camera/camera_inbox.hpp"

namespace fieldlog::camera {

// One version of one file: a rewrite changes size or mtime, a new file the inode.
struct FileIdentity {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::int64_t size = 0;
    std::int64_t mtime_ns = 0;
    auto operator<=>(const FileIdentity&) const = default;
};

// The identity of the file at path now, without reading it; nothing when it is gone.
std::optional<FileIdentity> identify(const std::filesystem::path& path);

class InboxGate {
public:
    enum class Outcome {
        offered,  // handed to the PhotoHandler (which may have failed)
        skipped,  // reported to the SkipHandler
        done,     // this version was offered or skipped before: nothing to do
        wait,     // an incomplete JPEG that may still grow
    };

    // Checks the file and offers it, reports it or asks to wait. settled says the file has not
    // changed for the settle time, so an incomplete JPEG is final rather than still being written.
    Outcome offer(const std::filesystem::path& path, bool settled, const PhotoHandler& on_photo,
                  const SkipHandler& on_skip, std::chrono::milliseconds settle_time);

private:
    std::set<FileIdentity> decided_;
};

}  // namespace fieldlog::camera
