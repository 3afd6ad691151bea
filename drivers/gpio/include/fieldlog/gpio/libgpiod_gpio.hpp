// The real GPIO backend: the kernel's GPIO character devices through libgpiod 1.6.
#pragma once

#include <string>

#include "fieldlog/gpio/gpio.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::gpio {

// Each input's event fd is handed to the event loop, which wakes only when an edge arrives: no
// thread polls the lines. libgpiod's exceptions stop here and come back as Errors.
class LibgpiodGpio final : public Gpio {
public:
    // consumer is the name `gpioinfo` shows for lines this process holds.
    explicit LibgpiodGpio(boost::asio::io_context& io, std::string consumer = "fieldlogd");

    [[nodiscard]] Result<std::unique_ptr<InputLine>> request_input(const LineSpec& spec,
                                                                   EdgeHandler on_edge) override;
    [[nodiscard]] Result<std::unique_ptr<OutputLine>> request_output(const LineSpec& spec,
                                                                     bool initial_active) override;

private:
    boost::asio::io_context& io_;
    std::string consumer_;
};

// True when the machine has at least one GPIO character device (/dev/gpiochip*).
bool have_gpio_chips();

}  // namespace fieldlog::gpio
