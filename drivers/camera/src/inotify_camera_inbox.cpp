#include "fieldlog/camera/inotify_camera_inbox.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fieldlog/files.hpp"
#include "inbox_gate.hpp"

namespace fieldlog::camera {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kWatchMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY |
                                     IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF |
                                     IN_ONLYDIR | IN_EXCL_UNLINK;
// Reads per wake-up before yielding to other work; the rest is read on the next turn.
constexpr int kMaxReadsPerWake = 32;

}  // namespace

Status validate(const InotifyInboxConfig& config) {
    if (config.dir.empty()) {
        return Error(Errc::invalid_argument, "camera inbox folder is not set");
    }
    if (config.settle_time < std::chrono::milliseconds(10) ||
        config.settle_time > std::chrono::minutes(10)) {
        return Error(Errc::invalid_argument,
                     "camera inbox settle time must be from 10 ms to 600000 ms, not " +
                         std::to_string(config.settle_time.count()) + " ms");
    }
    return {};
}

struct InotifyCameraInbox::Impl : std::enable_shared_from_this<InotifyCameraInbox::Impl> {
    // A file seen being written, waiting for a close, a rename or its size to settle.
    struct Pending {
        std::optional<FileIdentity> identity;
        Clock::time_point last_change;
    };

    Impl(boost::asio::io_context& io_context, InotifyInboxConfig inbox_config)
        : io(io_context), config(std::move(inbox_config)), events(io_context), timer(io_context) {}

    Status start(PhotoHandler photo_handler, SkipHandler skip_handler) {
        if (auto valid = validate(config); !valid) {
            return valid;
        }
        if (running) {
            return Error(Errc::conflict, "camera inbox " + config.dir.string() + " already runs");
        }
        UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
        if (!fd) {
            return errno_error(errno, "cannot start inotify for", config.dir);
        }
        // The watch comes before the scan, so a file arriving in between is not missed; one seen
        // by both is offered once all the same.
        if (::inotify_add_watch(fd.get(), config.dir.c_str(), kWatchMask) < 0) {
            int err = errno;
            if (err == ENOSPC) {
                return Error(Errc::no_space,
                             "cannot watch " + config.dir.string() +
                                 ": out of inotify watches (fs.inotify.max_user_watches)");
            }
            return errno_error(err, "cannot watch", config.dir);
        }
        boost::system::error_code ec;
        events.assign(fd.get(), ec);
        if (ec) {
            return Error(Errc::io, "cannot watch " + config.dir.string() + ": " + ec.message());
        }
        fd.release();
        on_photo = std::move(photo_handler);
        on_skip = std::move(skip_handler);
        running = true;
        ++generation;
        arm();
        // Files already there are offered from the loop, like everything else.
        boost::asio::post(io, [weak = weak_from_this(), generation = generation] {
            auto self = weak.lock();
            if (self && self->running && generation == self->generation) {
                self->scan();
            }
        });
        return {};
    }

    void stop() {
        running = false;
        ++generation;
        pending.clear();
        timer.cancel();
        boost::system::error_code ignored;
        events.close(ignored);
    }

    void arm() {
        events.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                          [weak = weak_from_this(),
                           generation = generation](const boost::system::error_code& ec) {
                              auto self = weak.lock();
                              if (self && self->running && generation == self->generation) {
                                  self->on_readable(ec);
                              }
                          });
    }

    void on_readable(const boost::system::error_code& ec) {
        if (ec) {
            fail(Error(Errc::io, "watching " + config.dir.string() + " failed: " + ec.message()));
            return;
        }
        // Asio waits edge-triggered: drain the queue now, or the loop would not wake for what is
        // left until the next event.
        alignas(inotify_event) std::array<char, 16 * 1024> buffer;
        const auto my_generation = generation;
        for (int reads = 0; reads < kMaxReadsPerWake; ++reads) {
            ssize_t n = ::read(events.native_handle(), buffer.data(), buffer.size());
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && errno == EAGAIN) {
                arm();
                return;
            }
            if (n < 0) {
                fail(errno_error(errno, "cannot read inotify events for", config.dir));
                return;
            }
            handle_events(buffer.data(), static_cast<std::size_t>(n));
            if (!running || generation != my_generation) {
                return;  // a handler stopped the inbox
            }
        }
        // More is queued: read it after other work has had a turn.
        boost::asio::post(io, [weak = weak_from_this(), my_generation] {
            auto self = weak.lock();
            if (self && self->running && my_generation == self->generation) {
                self->on_readable({});
            }
        });
    }

    void handle_events(const char* data, std::size_t size) {
        const auto my_generation = generation;
        std::size_t offset = 0;
        while (offset + sizeof(inotify_event) <= size) {
            inotify_event event{};
            std::memcpy(&event, data + offset, sizeof event);
            const char* name_start = data + offset + sizeof(inotify_event);
            offset += sizeof(inotify_event) + event.len;
            if (offset > size) {
                break;
            }
            std::string name(name_start, ::strnlen(name_start, event.len));
            handle_event(event.mask, name);
            if (!running || generation != my_generation) {
                return;
            }
        }
    }

    void handle_event(std::uint32_t mask, const std::string& name) {
        if (mask & IN_Q_OVERFLOW) {
            // Events were lost: look at the folder itself. Offered files stay offered.
            scan();
            return;
        }
        if (mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) {
            fail(
                Error(Errc::unavailable, "camera inbox " + config.dir.string() +
                                             " was removed, moved or unmounted; watching stopped"));
            return;
        }
        if (name.empty() || !is_inbox_photo_name(name)) {
            return;
        }
        const fs::path path = config.dir / name;
        if (mask & (IN_DELETE | IN_MOVED_FROM)) {
            if (pending.erase(name) > 0 && on_skip) {
                on_skip(path, Error(Errc::not_found, name + " vanished before it was complete"));
            }
            return;
        }
        if (mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
            consider(name, false);
            return;
        }
        if (mask & (IN_CREATE | IN_MODIFY)) {
            touch(name);
        }
    }

    // A sign of writing: the file is complete only once it has been still for the settle time.
    void touch(const std::string& name) {
        auto& entry = pending[name];
        entry.identity = identify(config.dir / name);
        entry.last_change = Clock::now();
        schedule();
    }

    // Checks a file that may be complete and offers it, reports it, or keeps it waiting.
    void consider(const std::string& name, bool settled) {
        const auto outcome =
            gate.offer(config.dir / name, settled, on_photo, on_skip, config.settle_time);
        if (!running) {
            return;
        }
        if (outcome == InboxGate::Outcome::wait) {
            if (!pending.contains(name)) {
                touch(name);
            }
            return;
        }
        pending.erase(name);
    }

    void scan() {
        std::error_code ec;
        std::vector<std::string> names;
        for (fs::directory_iterator it(config.dir, ec), end; !ec && it != end; it.increment(ec)) {
            auto name = it->path().filename().string();
            if (is_inbox_photo_name(name)) {
                names.push_back(name);
            }
        }
        if (ec) {
            fail(errno_error(ec.value(), "cannot list", config.dir));
            return;
        }
        std::sort(names.begin(), names.end());
        const auto my_generation = generation;
        const auto now = std::chrono::system_clock::now();
        for (const auto& name : names) {
            auto identity = identify(config.dir / name);
            if (!identity) {
                continue;  // gone since listing: nothing was promised for it
            }
            const auto mtime = std::chrono::system_clock::time_point(
                std::chrono::duration_cast<std::chrono::system_clock::duration>(
                    std::chrono::nanoseconds(identity->mtime_ns)));
            // A file untouched for the settle time is as good as closed; a fresh one may still
            // be in the middle of a write.
            if (now - mtime >= config.settle_time) {
                consider(name, false);
            } else {
                touch(name);
            }
            if (!running || generation != my_generation) {
                return;
            }
        }
    }

    void schedule() {
        if (pending.empty()) {
            return;
        }
        auto due = Clock::time_point::max();
        for (const auto& [name, entry] : pending) {
            due = std::min(due, entry.last_change + config.settle_time);
        }
        // A timer already due no later will look again when it fires: re-arming on every write
        // of a large file would only churn.
        if (timer_due <= due) {
            return;
        }
        timer_due = due;
        timer.expires_at(due);
        timer.async_wait([weak = weak_from_this(), generation = generation,
                          due](const boost::system::error_code&) {
            auto self = weak.lock();
            if (self && self->running && generation == self->generation && self->timer_due == due) {
                self->timer_due = Clock::time_point::max();
                self->on_settle_time();
            }
        });
    }

    void on_settle_time() {
        const auto now = Clock::now();
        std::vector<std::string> due;
        for (const auto& [name, entry] : pending) {
            if (entry.last_change + config.settle_time <= now) {
                due.push_back(name);
            }
        }
        const auto my_generation = generation;
        for (const auto& name : due) {
            auto it = pending.find(name);
            if (it == pending.end()) {
                continue;
            }
            const fs::path path = config.dir / name;
            auto identity = identify(path);
            if (!identity) {
                pending.erase(it);
                if (on_skip) {
                    on_skip(path,
                            Error(Errc::not_found, name + " vanished before it was complete"));
                }
            } else if (identity != it->second.identity) {
                // Changed without an event we saw (a writer on another host): wait again.
                it->second.identity = identity;
                it->second.last_change = now;
            } else {
                consider(name, true);
            }
            if (!running || generation != my_generation) {
                return;
            }
        }
        schedule();
    }

    void fail(Error error) {
        auto handler = on_skip;
        auto dir = config.dir;
        stop();
        if (handler) {
            handler(dir, error);
        }
    }

    boost::asio::io_context& io;
    InotifyInboxConfig config;
    boost::asio::posix::stream_descriptor events;
    boost::asio::steady_timer timer;
    Clock::time_point timer_due = Clock::time_point::max();
    std::map<std::string, Pending> pending;
    InboxGate gate;
    PhotoHandler on_photo;
    SkipHandler on_skip;
    std::uint64_t generation = 0;
    bool running = false;
};

InotifyCameraInbox::InotifyCameraInbox(boost::asio::io_context& io, InotifyInboxConfig config)
    : impl_(std::make_shared<Impl>(io, std::move(config))) {}

InotifyCameraInbox::~InotifyCameraInbox() { impl_->stop(); }

Status InotifyCameraInbox::start(PhotoHandler on_photo, SkipHandler on_skip) {
    return impl_->start(std::move(on_photo), std::move(on_skip));
}

void InotifyCameraInbox::stop() { impl_->stop(); }

std::size_t InotifyCameraInbox::pending() const { return impl_->pending.size(); }

}  // namespace fieldlog::camera
