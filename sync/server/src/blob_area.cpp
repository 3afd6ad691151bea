#include "blob_area.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>

#include "fieldlog/files.hpp"

namespace fieldlog::server {

namespace {

Status make_dir(const std::filesystem::path& dir) {
    if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
        return errno_error(errno, "cannot create directory", dir);
    }
    return {};
}

Result<Sha256> hash_fd(int fd, std::int64_t length, const std::filesystem::path& path) {
    Sha256Hasher hasher;
    std::array<std::uint8_t, 64 * 1024> buffer{};
    std::int64_t done = 0;
    while (length < 0 || done < length) {
        std::size_t want = buffer.size();
        if (length >= 0) {
            want = static_cast<std::size_t>(
                std::min<std::int64_t>(length - done, static_cast<std::int64_t>(buffer.size())));
        }
        ssize_t n = ::pread(fd, buffer.data(), want, done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno, "cannot read", path);
        }
        if (n == 0) {
            if (length < 0) break;
            return Error(Errc::corrupt, path.string() + " is shorter than its recorded offset " +
                                            std::to_string(length));
        }
        hasher.update(std::span(buffer.data(), static_cast<std::size_t>(n)));
        done += n;
    }
    return hasher.finish();
}

}  // namespace

Result<BlobArea> BlobArea::open(const std::filesystem::path& dir) {
    if (auto made = make_dir(dir); !made) return made.error();
    if (auto made = make_dir(dir / "partial"); !made) return made.error();
    return BlobArea(dir);
}

std::string BlobArea::final_name(std::string_view sha256_hex) {
    return std::string(sha256_hex.substr(0, 2)) + "/" + std::string(sha256_hex);
}

std::filesystem::path BlobArea::partial_path(std::string_view sha256_hex) const {
    return dir_ / "partial" / (std::string(sha256_hex) + ".part");
}

Status BlobArea::write_chunk(std::string_view sha256_hex, std::int64_t offset,
                             std::string_view data) {
    std::filesystem::path path = partial_path(sha256_hex);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640));
    if (!fd) return errno_error(errno, "cannot open", path);
    std::int64_t at = offset;
    while (!data.empty()) {
        ssize_t n = ::pwrite(fd.get(), data.data(), data.size(), at);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno, "cannot write", path);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
        at += n;
    }
    if (::ftruncate(fd.get(), at) != 0) return errno_error(errno, "cannot truncate", path);
    if (::fsync(fd.get()) != 0) return errno_error(errno, "cannot fsync", path);
    if (offset == 0) {
        // The file may be new: its directory entry must survive a power cut as well.
        return fsync_directory(path.parent_path());
    }
    return {};
}

Result<std::optional<std::int64_t>> BlobArea::partial_size(std::string_view sha256_hex) {
    auto file = partial_file(sha256_hex);
    if (!file) return file.error();
    if (!*file) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>((*file)->size);
}

Result<std::optional<PartialFile>> BlobArea::partial_file(std::string_view sha256_hex) {
    std::filesystem::path path = partial_path(sha256_hex);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return std::optional<PartialFile>();
        return errno_error(errno, "cannot stat", path);
    }
    PartialFile file;
    file.size = st.st_size;
    file.modified_ms = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 +
                       static_cast<std::int64_t>(st.st_mtim.tv_nsec / 1'000'000);
    return std::optional<PartialFile>(file);
}

Result<std::vector<std::string>> BlobArea::partial_uploads() const {
    const std::filesystem::path dir = dir_ / "partial";
    auto close = [](DIR* d) { ::closedir(d); };
    std::unique_ptr<DIR, decltype(close)> stream(::opendir(dir.c_str()), close);
    if (!stream) return errno_error(errno, "cannot list", dir);
    constexpr std::string_view suffix = ".part";
    std::vector<std::string> out;
    for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(stream.get());
        if (entry == nullptr) {
            if (errno != 0) return errno_error(errno, "cannot list", dir);
            break;
        }
        std::string_view name = entry->d_name;
        if (name.size() != 64 + suffix.size() || !name.ends_with(suffix)) continue;
        std::string_view sha = name.substr(0, 64);
        if (!std::all_of(sha.begin(), sha.end(),
                         [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
            continue;
        }
        out.emplace_back(sha);
    }
    std::sort(out.begin(), out.end());
    return out;
}

Result<Sha256> BlobArea::hash_partial(std::string_view sha256_hex, std::int64_t length) {
    std::filesystem::path path = partial_path(sha256_hex);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return errno_error(errno, "cannot open", path);
    return hash_fd(fd.get(), length, path);
}

Result<std::optional<Sha256>> BlobArea::hash_final(std::string_view sha256_hex) {
    std::filesystem::path path = dir_ / final_name(sha256_hex);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        if (errno == ENOENT) return std::optional<Sha256>();
        return errno_error(errno, "cannot open", path);
    }
    auto hash = hash_fd(fd.get(), -1, path);
    if (!hash) return hash.error();
    return std::optional<Sha256>(*hash);
}

Status BlobArea::promote(std::string_view sha256_hex) {
    std::filesystem::path target = dir_ / final_name(sha256_hex);
    if (auto made = make_dir(target.parent_path()); !made) return made;
    std::filesystem::path source = partial_path(sha256_hex);
    if (::rename(source.c_str(), target.c_str()) != 0) {
        return errno_error(errno, "cannot move into place", target);
    }
    if (auto synced = fsync_directory(target.parent_path()); !synced) return synced;
    if (auto synced = fsync_directory(dir_); !synced) return synced;
    return fsync_directory(source.parent_path());
}

Status BlobArea::discard(std::string_view sha256_hex) {
    std::filesystem::path path = partial_path(sha256_hex);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return errno_error(errno, "cannot remove", path);
    }
    return {};
}

}  // namespace fieldlog::server
