#include "temp_dir.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>

namespace fieldlog::testing {

TempDir::TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "fieldlog-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path source_dir() {
    if (const char* dir = std::getenv("FIELDLOG_SOURCE_DIR")) {
        return dir;
    }
    return FIELDLOG_DEFAULT_SOURCE_DIR;
}

}  // namespace fieldlog::testing
