#include "fieldlog/power/uevent_watch.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fieldlog/power/sysfs_power.hpp"
#include "temp_dir.hpp"

namespace fieldlog::power {
namespace {

using namespace std::chrono_literals;

// A uevent as the kernel sends it: "ACTION@DEVPATH" and KEY=VALUE fields, each NUL-terminated.
std::string uevent(const std::string& subsystem, const std::string& name = "BAT0") {
    std::string devpath = "/devices/platform/battery/" + subsystem + "/" + name;
    std::string text = "change@" + devpath + '\0' + "ACTION=change" + '\0' + "DEVPATH=" + devpath +
                       '\0' + "SUBSYSTEM=" + subsystem + '\0' + "POWER_SUPPLY_NAME=" + name + '\0' +
                       "SEQNUM=4711" + '\0';
    return text;
}

bool matches(const std::string& datagram, std::string_view subsystem) {
    return is_uevent_of(std::as_bytes(std::span(datagram.data(), datagram.size())), subsystem);
}

TEST(Uevent, RecognisesTheKernelsPowerSupplyEvents) {
    EXPECT_TRUE(matches(uevent("power_supply"), "power_supply"));
    EXPECT_FALSE(matches(uevent("net", "eth0"), "power_supply"));
    EXPECT_FALSE(matches(uevent("power_supply"), "power"));
}

TEST(Uevent, RejectsWhatIsNotAWholeKernelUevent) {
    EXPECT_FALSE(matches("", "power_supply"));
    EXPECT_FALSE(matches("garbage without a NUL", "power_supply"));
    // udev's re-broadcast carries a binary header, not "ACTION@DEVPATH".
    EXPECT_FALSE(
        matches(std::string("libudev") + '\0' + "SUBSYSTEM=power_supply" + '\0', "power_supply"));
    std::string cut = uevent("power_supply");
    cut.resize(cut.find("SUBSYSTEM=") + 15);  // the field's NUL is missing
    EXPECT_FALSE(matches(cut, "power_supply"));
    EXPECT_FALSE(matches(std::string("change@/x") + '\0' + "ACTION=change" + '\0', "power_supply"));
}

// A socketpair stands in for the kernel's uevent socket.
class UeventSource : public ::testing::Test {
protected:
    void SetUp() override {
        int fds[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds), 0);
        sender_ = UniqueFd(fds[0]);
        receiver_ = UniqueFd(fds[1]);
    }

    void send(const std::string& datagram) {
        ASSERT_EQ(::send(sender_.get(), datagram.data(), datagram.size(), 0),
                  static_cast<ssize_t>(datagram.size()));
    }

    // Runs handlers until done() or a bounded number of them, each wait bounded too.
    template <class Done>
    bool run_until(Done done) {
        for (int i = 0; i < 100 && !done(); ++i) {
            if (io_.run_one_for(5s) == 0) break;
        }
        return done();
    }

    boost::asio::io_context io_;
    UniqueFd sender_;
    UniqueFd receiver_;
};

TEST_F(UeventSource, CallsOnceForEachWakeWithAMatchingEvent) {
    int calls = 0;
    auto watch =
        UeventWatch::open(io_, std::move(receiver_), "power_supply", [&] { ++calls; }).value();
    send(uevent("net", "eth0"));
    ASSERT_EQ(io_.run_one_for(5s), 1u);
    EXPECT_EQ(calls, 0) << "another subsystem's event";
    send(uevent("power_supply", "AC"));
    send(uevent("power_supply", "BAT0"));
    EXPECT_TRUE(run_until([&] { return calls > 0; }));
    EXPECT_EQ(calls, 1) << "both were waiting when the loop woke";
    watch->stop();
    io_.poll();  // the cancelled wait
    EXPECT_EQ(calls, 1) << "nothing after stop";
}

TEST_F(UeventSource, AStreamSocketIsRefused) {
    // A stream's end of file would make the socket readable for ever.
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    UniqueFd other(fds[1]);
    auto watch = UeventWatch::open(io_, UniqueFd(fds[0]), "power_supply", [] {});
    ASSERT_FALSE(watch);
    EXPECT_EQ(watch.error().code(), Errc::invalid_argument);
    EXPECT_NE(watch.error().message().find("datagram"), std::string::npos)
        << watch.error().message();
}

// A UDP socket connected to a closed loopback port: its datagram comes back as ECONNREFUSED,
// which the next read reports.
UniqueFd refused_udp_socket() {
    UniqueFd probe(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        return {};
    }
    probe.reset();
    UniqueFd socket(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::send(socket.get(), "x", 1, 0) != 1) {
        return {};
    }
    return socket;
}

TEST_F(UeventSource, AnUnreadableSocketIsReportedOnceAndLeftAlone) {
    UniqueFd socket = refused_udp_socket();
    ASSERT_TRUE(socket) << "cannot set up a refused UDP socket here";
    int events = 0;
    std::vector<std::string> errors;
    auto watch = UeventWatch::open(
                     io_, std::move(socket), "power_supply", [&] { ++events; },
                     [&](const Error& error) { errors.push_back(error.message()); })
                     .value();
    EXPECT_TRUE(run_until([&] { return !errors.empty(); }));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("refused"), std::string::npos) << errors[0];
    EXPECT_EQ(events, 0);
    // Nothing is left to wake the loop: no retry, no spin.
    EXPECT_EQ(io_.poll(), 0u);
    EXPECT_EQ(errors.size(), 1u);
}

TEST_F(UeventSource, SysfsPowerReadsAtOnceOnAPowerSupplyEvent) {
    fieldlog::testing::TempDir dir;
    auto bat = dir / "BAT0";
    std::filesystem::create_directories(bat);
    std::ofstream(bat / "type") << "Battery\n";
    std::ofstream(bat / "capacity") << "40\n";
    // The poll is an hour away: only the uevent can bring the new level in time.
    SysfsPowerConfig config{dir.path(), 1h, {}};
    auto power = SysfsPower::open(io_, config, std::move(receiver_)).value();
    EXPECT_EQ(power->uevent_error(), "");
    std::vector<int> levels;
    power->on_change([&](const Result<PowerState>& state) {
        levels.push_back(state ? state->battery_percent.value_or(-1) : -2);
    });
    std::ofstream(bat / "capacity") << "12\n";
    send(uevent("power_supply"));
    EXPECT_TRUE(run_until([&] { return !levels.empty(); }));
    EXPECT_EQ(levels, std::vector<int>{12});
}

TEST(KernelUevents, CanBeWatchedWithoutPrivilege) {
    auto socket = open_kernel_uevent_socket();
    if (!socket) {
        GTEST_SKIP() << "no kernel uevent socket here (" << socket.error().message()
                     << "); fieldlogd then polls the power supply alone";
    }
    boost::asio::io_context io;
    auto watch = UeventWatch::open(io, std::move(*socket), "power_supply", [] {});
    ASSERT_TRUE(watch) << watch.error().message();
}

TEST(KernelUevents, SysfsPowerSaysWhyItOnlyPolls) {
    boost::asio::io_context io;
    SysfsPowerConfig config{"/nonexistent", 1h, {}, false};
    auto power = SysfsPower::open(io, config).value();
    EXPECT_EQ(power->uevent_error(), "") << "not watching was asked for, not a failure";
    // No socket at all: the supply is polled, and why is kept.
    auto polling = SysfsPower::open(io, config, UniqueFd()).value();
    EXPECT_NE(polling->uevent_error(), "");
}

}  // namespace
}  // namespace fieldlog::power
