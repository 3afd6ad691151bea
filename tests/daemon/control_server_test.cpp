// The control server in-process, for limits too slow to show through a whole daemon.
#include "control_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <thread>

#include "daemon_process.hpp"
#include "temp_dir.hpp"

namespace fieldlog::daemon {
namespace {

namespace json = boost::json;

TEST(ControlServer, DisconnectsClientThatStallsMidRequest) {
    fieldlog::testing::TempDir dir;
    boost::asio::io_context io;
    ControlLimits limits;
    limits.idle_timeout = std::chrono::milliseconds(200);
    ControlServer server(io, limits,
                         [](const std::string&, const json::object&, ControlServer::Reply reply) {
                             reply(json::value(json::object{{"pong", true}}));
                         });
    ASSERT_TRUE(server.listen(dir / "c.sock"));
    std::thread loop([&] { io.run_for(std::chrono::seconds(20)); });

    auto stalled = fieldlog::testing::ControlClient::connect(dir / "c.sock");
    ASSERT_TRUE(stalled);
    ASSERT_TRUE(stalled->send(R"({"op": "sta)"));
    EXPECT_TRUE(stalled->wait_closed(std::chrono::seconds(10)));

    // A client that keeps asking is served throughout.
    auto active = fieldlog::testing::ControlClient::connect(dir / "c.sock");
    ASSERT_TRUE(active);
    for (int i = 0; i < 3; ++i) {
        auto reply = active->request(json::object{{"op", "ping"}});
        ASSERT_TRUE(reply);
        EXPECT_TRUE(reply->at("ok").as_bool());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    io.stop();
    loop.join();
}

}  // namespace
}  // namespace fieldlog::daemon
