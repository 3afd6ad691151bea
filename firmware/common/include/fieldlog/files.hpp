// File-descriptor ownership and the durable file operations evidence depends on.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "fieldlog/error.hpp"

namespace fieldlog {

// Owns one file descriptor and closes it once.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset(std::exchange(other.fd_, -1));
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1);

private:
    int fd_ = -1;
};

// Maps errno to an Error that names the operation and path.
Error errno_error(int err, std::string_view what, const std::filesystem::path& path);

// Makes a directory entry (a create or a rename) survive power loss.
[[nodiscard]] Status fsync_directory(const std::filesystem::path& dir);

// Writes data to a temporary file beside path, fsyncs it, renames it over path and fsyncs the
// directory: readers see the old content or the new, never a torn file.
[[nodiscard]] Status write_file_atomically(const std::filesystem::path& path, std::string_view data,
                                           unsigned mode);

// Reads a whole file, refusing one larger than max_bytes.
[[nodiscard]] Result<std::string> read_file(const std::filesystem::path& path,
                                            std::size_t max_bytes);

}  // namespace fieldlog
