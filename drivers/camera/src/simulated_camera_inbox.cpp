#include "fieldlog/camera/simulated_camera_inbox.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <utility>
#include <vector>

#include "inbox_gate.hpp"

namespace fieldlog::camera {

struct SimulatedCameraInbox::Impl : std::enable_shared_from_this<SimulatedCameraInbox::Impl> {
    explicit Impl(boost::asio::io_context& io_context) : io(io_context) {}

    void deliver(const std::filesystem::path& path) {
        boost::asio::post(io, [weak = weak_from_this(), generation = generation, path] {
            auto self = weak.lock();
            if (self && self->running && generation == self->generation) {
                // A push stands for a close or rename: the file is as complete as it will get.
                self->gate.offer(path, true, self->on_photo, self->on_skip,
                                 std::chrono::milliseconds(0));
            }
        });
    }

    boost::asio::io_context& io;
    InboxGate gate;
    PhotoHandler on_photo;
    SkipHandler on_skip;
    std::vector<std::filesystem::path> waiting;
    std::uint64_t generation = 0;
    bool running = false;
};

SimulatedCameraInbox::SimulatedCameraInbox(boost::asio::io_context& io)
    : impl_(std::make_shared<Impl>(io)) {}

SimulatedCameraInbox::~SimulatedCameraInbox() { stop(); }

Status SimulatedCameraInbox::start(PhotoHandler on_photo, SkipHandler on_skip) {
    if (impl_->running) {
        return Error(Errc::conflict, "simulated camera inbox already runs");
    }
    impl_->on_photo = std::move(on_photo);
    impl_->on_skip = std::move(on_skip);
    impl_->running = true;
    ++impl_->generation;
    for (const auto& path : std::exchange(impl_->waiting, {})) {
        impl_->deliver(path);
    }
    return {};
}

void SimulatedCameraInbox::stop() {
    impl_->running = false;
    ++impl_->generation;
}

void SimulatedCameraInbox::push(const std::filesystem::path& path) {
    if (impl_->running) {
        impl_->deliver(path);
    } else {
        impl_->waiting.push_back(path);
    }
}

}  // namespace fieldlog::camera
