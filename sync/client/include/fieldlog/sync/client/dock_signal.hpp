// The dock-detect line: putting the device in its dock (power and network at the office) is a
// good moment to sync. A driver implements this on a GPIO line; ManualDockSignal stands in for
// it in tests and on boards without one.
#pragma once

#include <functional>

namespace fieldlog::sync::client {

class DockSignal {
public:
    using Listener = std::function<void()>;

    virtual ~DockSignal() = default;
    // Starts watching; on_docked runs on the daemon's io_context each time the device is docked.
    virtual void watch(Listener on_docked) = 0;
    // Stops watching; on_docked is not called afterwards.
    virtual void stop() = 0;
};

// A dock signal raised by hand: notify_docked() calls the listener at once, on the caller's
// thread, which must be the io_context's.
class ManualDockSignal final : public DockSignal {
public:
    void watch(Listener on_docked) override { listener_ = std::move(on_docked); }
    void stop() override { listener_ = nullptr; }

    void notify_docked() {
        if (listener_) listener_();
    }

private:
    Listener listener_;
};

}  // namespace fieldlog::sync::client
