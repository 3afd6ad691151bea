// The simulated backend: recorded NMEA text fed line by line on a timer, as a receiver would send
// it. Tests use it for the behaviour every backend shares; demos use it without a receiver.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "fieldlog/error.hpp"
#include "fieldlog/gnss/gnss.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::gnss {

struct ReplayOptions {
    GnssOptions gnss;
    // One line (up to and including '\n') is fed per interval. A 1 Hz receiver sends a handful
    // of sentences a second, so 200 ms gives about real pace for a typical log.
    std::chrono::milliseconds interval{200};
    // Starts over at the end of the text instead of stopping (demos).
    bool loop = false;
};

class ReplayGnss final : public Gnss {
public:
    // The largest file from_file reads.
    static constexpr std::size_t kMaxFileBytes = std::size_t{64} * 1024 * 1024;

    // Starts feeding text on io. An interval below 1 ms (a busy loop) or bad GnssOptions give
    // Errc::invalid_argument.
    [[nodiscard]] static Result<std::unique_ptr<ReplayGnss>> from_text(boost::asio::io_context& io,
                                                                       std::string text,
                                                                       ReplayOptions options);
    // The same with the contents of a file; a missing or unreadable file is an error naming it.
    [[nodiscard]] static Result<std::unique_ptr<ReplayGnss>> from_file(
        boost::asio::io_context& io, const std::filesystem::path& path, ReplayOptions options);
    // Stops feeding. Call on the io_context's thread, or while it is not running.
    ~ReplayGnss() override;
    ReplayGnss(const ReplayGnss&) = delete;
    ReplayGnss& operator=(const ReplayGnss&) = delete;

    std::optional<GnssFix> current_fix() const override;
    GnssStatus status() const override;

    // Stops feeding; same thread rule as the destructor.
    void stop();

private:
    struct Impl;
    explicit ReplayGnss(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace fieldlog::gnss
