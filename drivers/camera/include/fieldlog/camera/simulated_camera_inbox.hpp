// A camera inbox that tests feed by hand.
#pragma once

#include <filesystem>
#include <memory>

#include "fieldlog/camera/camera_inbox.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::camera {

class SimulatedCameraInbox final : public CameraInbox {
public:
    explicit SimulatedCameraInbox(boost::asio::io_context& io);
    ~SimulatedCameraInbox() override;
    SimulatedCameraInbox(const SimulatedCameraInbox&) = delete;
    SimulatedCameraInbox& operator=(const SimulatedCameraInbox&) = delete;

    [[nodiscard]] Status start(PhotoHandler on_photo, SkipHandler on_skip) override;
    void stop() override;

    // Announces a file as complete, as a close or rename in the real folder would. It is checked
    // like the real inbox's files (a non-JPEG, a missing or an incomplete file is reported) and
    // offered at most once. Pushed before start, it waits for start.
    void push(const std::filesystem::path& path);

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace fieldlog::camera
