#include "fieldlog/camera/camera_inbox.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "fieldlog/camera/photo_metadata.hpp"
#include "fieldlog/files.hpp"
#include "inbox_gate.hpp"

namespace fieldlog::camera {
namespace {

namespace fs = std::filesystem;

// Writers may pad a JPEG with zeros after its end-of-image marker; past this much padding the
// file is taken as unfinished (preallocated but not yet written).
constexpr std::int64_t kMaxTrailingZeros = 1 << 20;
constexpr std::size_t kTailChunk = 64 * 1024;

enum class Verdict { photo, incomplete, not_jpeg, gone, unusable };

struct Inspection {
    Verdict verdict = Verdict::unusable;
    FileIdentity identity;
    Error error;
};

FileIdentity identity_of(const struct stat& st) {
    return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
            static_cast<std::int64_t>(st.st_size),
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

// Reads exactly out.size() bytes at offset; false on a short read (the file shrank meanwhile).
bool read_at(int fd, std::span<std::uint8_t> out, std::int64_t offset) {
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::pread(fd, out.data() + done, out.size() - done,
                            static_cast<off_t>(offset) + static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

std::string hex_prefix(std::span<const std::uint8_t> bytes) {
    std::string text;
    for (auto b : bytes) {
        char part[4];
        std::snprintf(part, sizeof part, "%02x ", b);
        text += part;
    }
    if (!text.empty()) {
        text.pop_back();
    }
    return text;
}

// Whether the file ends with EOI (FF D9), allowing for zero padding after it.
bool ends_with_eoi(int fd, std::int64_t size) {
    std::vector<std::uint8_t> chunk;
    std::int64_t end = size;
    while (end > 0 && size - end <= kMaxTrailingZeros) {
        auto n = static_cast<std::size_t>(std::min<std::int64_t>(end, kTailChunk));
        chunk.resize(n);
        if (!read_at(fd, chunk, end - static_cast<std::int64_t>(n))) {
            return false;
        }
        for (std::size_t i = n; i-- > 0;) {
            if (chunk[i] == 0) {
                continue;
            }
            const std::int64_t last =
                end - static_cast<std::int64_t>(n) + static_cast<std::int64_t>(i);
            if (chunk[i] != 0xD9 || last == 0) {
                return false;
            }
            std::array<std::uint8_t, 1> before{};
            return read_at(fd, before, last - 1) && before[0] == 0xFF;
        }
        end -= static_cast<std::int64_t>(n);
    }
    return false;
}

Inspection inspect(const fs::path& path) {
    Inspection result;
    const std::string name = path.filename().string();
    // O_NONBLOCK: a FIFO named like a photo must not hang the loop. O_NOFOLLOW: a symlink could
    // point anywhere on the device.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd) {
        int err = errno;
        if (err == ENOENT) {
            result.verdict = Verdict::gone;
            result.error = Error(Errc::not_found, name + " vanished before it was ingested");
        } else if (err == ELOOP) {
            result.error = Error(Errc::invalid_argument, name + " is a symbolic link, not a photo");
        } else {
            result.error = errno_error(err, "cannot open", path);
        }
        return result;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        result.error = errno_error(errno, "cannot stat", path);
        return result;
    }
    if (!S_ISREG(st.st_mode)) {
        result.error = Error(Errc::invalid_argument, name + " is not a regular file");
        return result;
    }
    result.identity = identity_of(st);
    const auto size = static_cast<std::int64_t>(st.st_size);

    std::array<std::uint8_t, 3> head{};
    const auto head_size = static_cast<std::size_t>(std::min<std::int64_t>(size, 3));
    const std::span<std::uint8_t> head_read(head.data(), head_size);
    if (!read_at(fd.get(), head_read, 0)) {
        result.verdict = Verdict::incomplete;
        result.error = Error(Errc::invalid_argument, name + " shrank while it was read");
        return result;
    }
    const std::array<std::uint8_t, 3> soi{0xFF, 0xD8, 0xFF};
    if (!std::equal(head_read.begin(), head_read.end(), soi.begin())) {
        result.verdict = Verdict::not_jpeg;
        result.error = Error(Errc::invalid_argument, name + " is not a JPEG: it starts with " +
                                                         hex_prefix(head_read) + ", not ff d8 ff");
        return result;
    }
    if (head_size < 3 || !ends_with_eoi(fd.get(), size)) {
        result.verdict = Verdict::incomplete;
        result.error =
            Error(Errc::invalid_argument, name + " is an incomplete JPEG (" + std::to_string(size) +
                                              " bytes, no end-of-image marker)");
        return result;
    }
    result.verdict = Verdict::photo;
    return result;
}

}  // namespace

bool is_inbox_photo_name(std::string_view filename) {
    if (filename.empty() || filename.front() == '.') {
        return false;
    }
    auto ends_with = [&](std::string_view suffix) {
        if (filename.size() <= suffix.size()) {
            return false;
        }
        auto tail = filename.substr(filename.size() - suffix.size());
        for (std::size_t i = 0; i < suffix.size(); ++i) {
            char c = tail[i];
            if (c >= 'A' && c <= 'Z') {
                c = static_cast<char>(c - 'A' + 'a');
            }
            if (c != suffix[i]) {
                return false;
            }
        }
        return true;
    };
    return ends_with(".jpg") || ends_with(".jpeg");
}

std::optional<FileIdentity> identify(const fs::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return identity_of(st);
}

InboxGate::Outcome InboxGate::offer(const fs::path& path, bool settled,
                                    const PhotoHandler& on_photo, const SkipHandler& on_skip,
                                    std::chrono::milliseconds settle_time) {
    Inspection inspection = inspect(path);
    if (inspection.verdict != Verdict::gone && inspection.verdict != Verdict::unusable &&
        decided_.contains(inspection.identity)) {
        return Outcome::done;
    }
    switch (inspection.verdict) {
        case Verdict::photo:
            // Recorded before the call: the handler may run the loop or restart a scan.
            decided_.insert(inspection.identity);
            if (on_photo) {
                if (auto taken = on_photo(path); !taken && on_skip) {
                    on_skip(path, taken.error());
                }
            }
            return Outcome::offered;
        case Verdict::incomplete:
            if (!settled) {
                return Outcome::wait;
            }
            decided_.insert(inspection.identity);
            if (on_skip) {
                on_skip(path, Error(inspection.error.code(),
                                    inspection.error.message() + " and unchanged for " +
                                        std::to_string(settle_time.count()) +
                                        " ms; skipped until it changes"));
            }
            return Outcome::skipped;
        case Verdict::not_jpeg:
            decided_.insert(inspection.identity);
            [[fallthrough]];
        case Verdict::gone:
        case Verdict::unusable:
            if (on_skip) {
                on_skip(path, inspection.error);
            }
            return Outcome::skipped;
    }
    return Outcome::skipped;
}

}  // namespace fieldlog::camera
