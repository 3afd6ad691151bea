// A fresh directory per test, removed with everything in it when the test ends.
#pragma once

#include <filesystem>

namespace fieldlog::testing {

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::filesystem::path& name) const {
        return path_ / name;
    }

private:
    std::filesystem::path path_;
};

// The repository root, for tests that read the shipped config and data files.
std::filesystem::path source_dir();

}  // namespace fieldlog::testing
