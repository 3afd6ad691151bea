#include "fieldlog/gnss/replay_gnss.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <string_view>
#include <utility>

#include "fieldlog/files.hpp"
#include "receiver.hpp"

namespace fieldlog::gnss {

namespace asio = boost::asio;

struct ReplayGnss::Impl : std::enable_shared_from_this<ReplayGnss::Impl> {
    Impl(asio::io_context& io, std::string nmea, ReplayOptions opts)
        : timer(io), text(std::move(nmea)), options(opts), receiver(options.gnss) {}

    asio::steady_timer timer;
    const std::string text;
    const ReplayOptions options;
    detail::NmeaReceiver receiver;
    std::size_t position = 0;
    bool stopped = false;

    void start() {
        receiver.connected();
        if (text.empty()) {
            receiver.disconnected();
            return;
        }
        schedule();
    }

    void schedule() {
        timer.expires_after(options.interval);
        timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->stopped) return;
            self->feed_line();
        });
    }

    void feed_line() {
        std::size_t end = text.find('\n', position);
        end = end == std::string::npos ? text.size() : end + 1;
        receiver.feed(std::string_view(text).substr(position, end - position),
                      std::chrono::steady_clock::now());
        position = end;
        if (position == text.size()) {
            if (!options.loop) {
                receiver.disconnected();
                return;
            }
            position = 0;
        }
        schedule();
    }
};

ReplayGnss::ReplayGnss(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

ReplayGnss::~ReplayGnss() { stop(); }

Result<std::unique_ptr<ReplayGnss>> ReplayGnss::from_text(asio::io_context& io, std::string text,
                                                          ReplayOptions options) {
    if (options.interval < std::chrono::milliseconds(1)) {
        return Error(Errc::invalid_argument, "GNSS replay interval must be at least 1 ms");
    }
    if (auto checked = check_gnss_options(options.gnss); !checked) return checked.error();
    auto impl = std::make_shared<Impl>(io, std::move(text), options);
    impl->start();
    return std::unique_ptr<ReplayGnss>(new ReplayGnss(std::move(impl)));
}

Result<std::unique_ptr<ReplayGnss>> ReplayGnss::from_file(asio::io_context& io,
                                                          const std::filesystem::path& path,
                                                          ReplayOptions options) {
    auto text = read_file(path, kMaxFileBytes);
    if (!text) return std::move(text.error()).context("GNSS replay");
    return from_text(io, std::move(*text), options);
}

void ReplayGnss::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->timer.cancel();
    impl_->receiver.disconnected();
}

std::optional<GnssFix> ReplayGnss::current_fix() const {
    return impl_->receiver.current_fix(std::chrono::steady_clock::now());
}

GnssStatus ReplayGnss::status() const {
    return impl_->receiver.status(std::chrono::steady_clock::now());
}

}  // namespace fieldlog::gnss
