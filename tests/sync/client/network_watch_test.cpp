#include "fieldlog/sync/client/network_watch.hpp"

#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace fieldlog::sync::client {
namespace {

// One rtnetlink message: header plus a fixed body, padded as the kernel pads it.
template <class Body>
void append(std::vector<std::byte>& out, std::uint16_t type, const Body& body) {
    nlmsghdr header{};
    header.nlmsg_len = static_cast<std::uint32_t>(NLMSG_LENGTH(sizeof(Body)));
    header.nlmsg_type = type;
    std::size_t at = out.size();
    out.resize(at + NLMSG_ALIGN(header.nlmsg_len));
    std::memcpy(out.data() + at, &header, sizeof header);
    std::memcpy(out.data() + at + NLMSG_HDRLEN, &body, sizeof body);
}

ifinfomsg link(unsigned flags) {
    ifinfomsg m{};
    m.ifi_family = AF_UNSPEC;
    m.ifi_index = 2;
    m.ifi_flags = flags;
    return m;
}

ifaddrmsg address(unsigned char scope) {
    ifaddrmsg m{};
    m.ifa_family = AF_INET;
    m.ifa_scope = scope;
    m.ifa_index = 2;
    return m;
}

rtmsg route(unsigned char table, unsigned char type) {
    rtmsg m{};
    m.rtm_family = AF_INET;
    m.rtm_table = table;
    m.rtm_type = type;
    return m;
}

bool change(const std::vector<std::byte>& datagram) { return is_network_change(datagram); }

TEST(NetworkChangeFilter, ALinkThatCameUpAndRunsIsAChange) {
    std::vector<std::byte> up;
    append(up, RTM_NEWLINK, link(IFF_UP | IFF_RUNNING));
    EXPECT_TRUE(change(up));
}

TEST(NetworkChangeFilter, ALinkDownWithoutCarrierOrLoopbackIsNot) {
    std::vector<std::byte> down, no_carrier, loopback, deleted;
    append(down, RTM_NEWLINK, link(0));
    append(no_carrier, RTM_NEWLINK, link(IFF_UP));
    append(loopback, RTM_NEWLINK, link(IFF_UP | IFF_RUNNING | IFF_LOOPBACK));
    append(deleted, RTM_DELLINK, link(IFF_UP | IFF_RUNNING));
    EXPECT_FALSE(change(down));
    EXPECT_FALSE(change(no_carrier));
    EXPECT_FALSE(change(loopback));
    EXPECT_FALSE(change(deleted));
}

TEST(NetworkChangeFilter, ANewAddressOrMainTableRouteIsAChange) {
    std::vector<std::byte> addr, host_addr, main_route, local_route, del_route;
    append(addr, RTM_NEWADDR, address(RT_SCOPE_UNIVERSE));
    append(host_addr, RTM_NEWADDR, address(RT_SCOPE_HOST));
    append(main_route, RTM_NEWROUTE, route(RT_TABLE_MAIN, RTN_UNICAST));
    append(local_route, RTM_NEWROUTE, route(RT_TABLE_LOCAL, RTN_LOCAL));
    append(del_route, RTM_DELROUTE, route(RT_TABLE_MAIN, RTN_UNICAST));
    EXPECT_TRUE(change(addr));
    EXPECT_FALSE(change(host_addr));
    EXPECT_TRUE(change(main_route));
    EXPECT_FALSE(change(local_route));
    EXPECT_FALSE(change(del_route));
}

TEST(NetworkChangeFilter, FindsAChangeAfterOtherMessagesInOneDatagram) {
    std::vector<std::byte> datagram;
    append(datagram, RTM_DELADDR, address(RT_SCOPE_UNIVERSE));
    append(datagram, RTM_NEWLINK, link(0));
    append(datagram, RTM_NEWADDR, address(RT_SCOPE_LINK));
    EXPECT_TRUE(change(datagram));
}

TEST(NetworkChangeFilter, RejectsTruncatedAndLyingMessages) {
    std::vector<std::byte> good;
    append(good, RTM_NEWLINK, link(IFF_UP | IFF_RUNNING));
    EXPECT_FALSE(change({}));
    EXPECT_FALSE(change(std::vector<std::byte>(good.begin(), good.begin() + 8)));
    // A body too short for its type.
    std::vector<std::byte> short_body = good;
    nlmsghdr header;
    std::memcpy(&header, short_body.data(), sizeof header);
    header.nlmsg_len = NLMSG_HDRLEN + 4;
    std::memcpy(short_body.data(), &header, sizeof header);
    EXPECT_FALSE(change(short_body));
    // A length beyond the datagram, and one below a header.
    std::vector<std::byte> beyond = good;
    header.nlmsg_len = static_cast<std::uint32_t>(good.size() + 64);
    std::memcpy(beyond.data(), &header, sizeof header);
    EXPECT_FALSE(change(beyond));
    std::vector<std::byte> tiny = good;
    header.nlmsg_len = 4;
    std::memcpy(tiny.data(), &header, sizeof header);
    EXPECT_FALSE(change(tiny));
    // NLMSG_DONE ends a datagram: what follows is not read.
    std::vector<std::byte> done;
    append(done, NLMSG_DONE, std::uint32_t{0});
    append(done, RTM_NEWLINK, link(IFF_UP | IFF_RUNNING));
    EXPECT_FALSE(change(done));
}

// A real link change needs a network namespace of our own, which needs root. The child process
// enters a new one, watches it and adds a veth pair with an address; exit status 0 means the
// watch saw it, 77 means the namespace or link could not be made here.
TEST(NetworkWatch, SeesALinkComingUpInAFreshNetworkNamespace) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create a network namespace";
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        if (::unshare(CLONE_NEWNET) != 0) ::_exit(77);
        boost::asio::io_context io;
        bool seen = false;
        auto watch = NetworkWatch::open(
            io, [&] { seen = true; }, std::chrono::milliseconds(50));
        if (!watch) ::_exit(77);
        if (std::system("ip link add fl-sync-a type veth peer name fl-sync-b >/dev/null 2>&1 && "
                        "ip link set fl-sync-a up && ip link set fl-sync-b up && "
                        "ip addr add 10.77.0.1/24 dev fl-sync-a") != 0) {
            ::_exit(77);
        }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!seen && std::chrono::steady_clock::now() < deadline) {
            io.run_for(std::chrono::milliseconds(20));
        }
        ::_exit(seen ? 0 : 1);
    }
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    pid_t done = 0;
    while ((done = ::waitpid(child, &status, WNOHANG)) == 0 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (done == 0) {
        ::kill(child, SIGKILL);
        ::waitpid(child, &status, 0);
        FAIL() << "the namespace test did not finish in time";
    }
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        GTEST_SKIP() << "cannot create a network namespace with a veth link here "
                        "(unshare or `ip link add ... type veth` failed)";
    }
    EXPECT_EQ(WEXITSTATUS(status), 0) << "no network change was reported";
}

TEST(NetworkWatch, StopsQuietly) {
    boost::asio::io_context io;
    auto watch = NetworkWatch::open(io, [] {});
    if (!watch) GTEST_SKIP() << "no netlink here: " << watch.error().message();
    (*watch)->stop();
    // Nothing of the watch keeps the loop busy once stopped: run_for ends for want of work.
    io.run_for(std::chrono::seconds(5));
    EXPECT_TRUE(io.stopped());
}

}  // namespace
}  // namespace fieldlog::sync::client
