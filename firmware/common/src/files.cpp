#include "fieldlog/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fieldlog {

void UniqueFd::reset(int fd) {
    if (fd_ >= 0) {
        ::close(fd_);
    }
    fd_ = fd;
}

Error errno_error(int err, std::string_view what, const std::filesystem::path& path) {
    Errc code = Errc::io;
    if (err == ENOSPC || err == EDQUOT) {
        code = Errc::no_space;
    } else if (err == ENOENT) {
        code = Errc::not_found;
    } else if (err == EACCES || err == EPERM) {
        code = Errc::permission;
    }
    return Error(code, std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

Status fsync_directory(const std::filesystem::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        return errno_error(errno, "cannot open directory", dir);
    }
    if (::fsync(fd.get()) != 0) {
        return errno_error(errno, "cannot fsync directory", dir);
    }
    return {};
}

namespace {

Status write_all(int fd, std::string_view data, const std::filesystem::path& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno, "cannot write", path);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

}  // namespace

Status write_file_atomically(const std::filesystem::path& path, std::string_view data,
                             unsigned mode) {
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                       static_cast<mode_t>(mode)));
    if (!fd) {
        return errno_error(errno, "cannot create", tmp);
    }
    auto written = write_all(fd.get(), data, tmp);
    if (written && ::fsync(fd.get()) != 0) {
        written = errno_error(errno, "cannot fsync", tmp);
    }
    if (!written) {
        ::unlink(tmp.c_str());
        return written;
    }
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return errno_error(err, "cannot rename into", path);
    }
    return fsync_directory(path.has_parent_path() ? path.parent_path()
                                                  : std::filesystem::path("."));
}

Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return errno_error(errno, "cannot open", path);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return errno_error(errno, "cannot stat", path);
    }
    if (!S_ISREG(st.st_mode)) {
        return Error(Errc::invalid_argument, path.string() + " is not a regular file");
    }
    if (static_cast<std::size_t>(st.st_size) > max_bytes) {
        return Error(Errc::too_large, path.string() + " is " + std::to_string(st.st_size) +
                                          " bytes, more than the " + std::to_string(max_bytes) +
                                          " allowed");
    }
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno, "cannot read", path);
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > max_bytes) {
            return Error(Errc::too_large, path.string() + " grew past " +
                                              std::to_string(max_bytes) + " bytes while read");
        }
    }
    return out;
}

}  // namespace fieldlog
