#include "fieldlog/gnss/serial_gnss.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/serial_port.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <string_view>
#include <utility>

#include "fieldlog/files.hpp"
#include "receiver.hpp"

namespace fieldlog::gnss {

namespace asio = boost::asio;

namespace {

std::optional<speed_t> speed_of(unsigned baud_rate) {
    switch (baud_rate) {
        case 4800:
            return B4800;
        case 9600:
            return B9600;
        case 38400:
            return B38400;
        case 115200:
            return B115200;
        default:
            return std::nullopt;
    }
}

// Opens the port ourselves rather than through serial_port::open, which leaves out O_CLOEXEC,
// and sets raw 8N1 without flow control: no echo, no line editing, no CR/LF translation.
Result<UniqueFd> open_raw(const std::string& device, speed_t speed) {
    UniqueFd fd(::open(device.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) return errno_error(errno, "cannot open GNSS serial port", device);
    termios tio{};
    if (::tcgetattr(fd.get(), &tio) != 0) {
        return errno_error(errno, "cannot read the line settings of GNSS serial port", device);
    }
    ::cfmakeraw(&tio);
    tio.c_cflag |= static_cast<tcflag_t>(CLOCAL | CREAD);
    tio.c_cflag &= ~static_cast<tcflag_t>(CRTSCTS | CSTOPB);
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (::cfsetispeed(&tio, speed) != 0 || ::cfsetospeed(&tio, speed) != 0 ||
        ::tcsetattr(fd.get(), TCSANOW, &tio) != 0) {
        return errno_error(errno, "cannot set raw mode on GNSS serial port", device);
    }
    // Sentences queued before we opened may be minutes old; a stale position must not be
    // stamped as received now.
    ::tcflush(fd.get(), TCIFLUSH);
    return fd;
}

}  // namespace

struct SerialGnss::Impl : std::enable_shared_from_this<SerialGnss::Impl> {
    Impl(asio::io_context& io, SerialGnssOptions opts, speed_t line_speed)
        : port(io),
          reopen_timer(io),
          options(std::move(opts)),
          speed(line_speed),
          receiver(options.gnss),
          backoff(options.reopen_initial) {}

    asio::serial_port port;
    asio::steady_timer reopen_timer;
    const SerialGnssOptions options;
    const speed_t speed;
    detail::NmeaReceiver receiver;
    std::array<char, 512> buffer{};
    std::chrono::milliseconds backoff;
    bool stopped = false;

    void try_open() {
        if (stopped) return;
        auto fd = open_raw(options.device, speed);
        if (!fd) {
            receiver.io_error(fd.error().message());
            schedule_reopen();
            return;
        }
        boost::system::error_code ec;
        port.assign(fd->get(), ec);
        if (ec) {
            receiver.io_error("cannot watch GNSS serial port " + options.device + ": " +
                              ec.message());
            schedule_reopen();
            return;
        }
        fd->release();  // the serial_port owns and closes it now
        receiver.connected();
        read();
    }

    void read() {
        port.async_read_some(
            asio::buffer(buffer),
            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                if (self->stopped || ec == asio::error::operation_aborted) return;
                if (ec) {
                    // An unplugged USB receiver reads as EIO or end of file; so does a closed
                    // pty. Either way the port is reopened until the device is back.
                    self->receiver.io_error("read from GNSS serial port " + self->options.device +
                                            ": " + ec.message());
                    boost::system::error_code ignored;
                    self->port.close(ignored);
                    self->schedule_reopen();
                    return;
                }
                self->backoff = self->options.reopen_initial;
                self->receiver.feed(std::string_view(self->buffer.data(), n),
                                    std::chrono::steady_clock::now());
                self->read();
            });
    }

    void schedule_reopen() {
        reopen_timer.expires_after(backoff);
        backoff = std::min(backoff * 2, options.reopen_max);
        reopen_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->stopped) return;
            self->try_open();
        });
    }
};

SerialGnss::SerialGnss(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

SerialGnss::~SerialGnss() { stop(); }

Result<std::unique_ptr<SerialGnss>> SerialGnss::open(asio::io_context& io,
                                                     SerialGnssOptions options) {
    if (options.device.empty()) {
        return Error(Errc::invalid_argument, "GNSS serial device path is empty");
    }
    auto speed = speed_of(options.baud_rate);
    if (!speed) {
        return Error(Errc::invalid_argument, "GNSS baud rate " + std::to_string(options.baud_rate) +
                                                 " is not one of 4800, 9600, 38400, 115200");
    }
    if (options.reopen_initial < std::chrono::milliseconds(1) ||
        options.reopen_max < options.reopen_initial) {
        return Error(Errc::invalid_argument,
                     "GNSS reopen delays must satisfy 1 ms <= reopen_initial <= reopen_max");
    }
    if (auto checked = check_gnss_options(options.gnss); !checked) return checked.error();
    auto impl = std::make_shared<Impl>(io, std::move(options), *speed);
    impl->try_open();
    return std::unique_ptr<SerialGnss>(new SerialGnss(std::move(impl)));
}

void SerialGnss::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    boost::system::error_code ignored;
    impl_->reopen_timer.cancel();
    impl_->port.close(ignored);
    impl_->receiver.disconnected();
}

std::optional<GnssFix> SerialGnss::current_fix() const {
    return impl_->receiver.current_fix(std::chrono::steady_clock::now());
}

GnssStatus SerialGnss::status() const {
    return impl_->receiver.status(std::chrono::steady_clock::now());
}

}  // namespace fieldlog::gnss
