#include "fieldlog/cli/client.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <boost/json/parse.hpp>
#include <cstring>

#include "fake_daemon.hpp"
#include "temp_dir.hpp"

namespace fieldlog::cli {
namespace {

namespace json = boost::json;
using testing::FakeDaemon;

ExchangeOptions within(std::chrono::milliseconds timeout) {
    ExchangeOptions options;
    options.timeout = timeout;
    return options;
}

const json::object status_request{{"op", "status"}, {"args", json::object()}};

TEST(Client, SendsOneLineAndReadsTheReply) {
    fieldlog::testing::TempDir dir;
    FakeDaemon daemon(dir / "control.sock", R"({"ok": true, "result": {"device_id": "dev-1"}})"
                                            "\n");
    json::object request{{"op", "measurement.add"},
                         {"args", {{"parameter", "COD"}, {"value", 75.5}, {"unit", "mg/L"}}}};
    auto reply =
        exchange((dir / "control.sock").string(), request, within(std::chrono::seconds(5)));
    ASSERT_TRUE(reply) << reply.error().to_string();
    EXPECT_TRUE(reply->ok);
    EXPECT_EQ(reply->result, json::parse(R"({"device_id": "dev-1"})"));
    EXPECT_EQ(json::parse(daemon.received()), request);
}

TEST(Client, ErrorReplyCarriesCodeAndMessage) {
    fieldlog::testing::TempDir dir;
    FakeDaemon daemon(dir / "control.sock", R"({"ok": false, "error": {"code": "conflict",)"
                                            R"( "message": "inspection I-1 is open"}})"
                                            "\n");
    auto reply =
        exchange((dir / "control.sock").string(), status_request, within(std::chrono::seconds(5)));
    ASSERT_TRUE(reply) << reply.error().to_string();
    EXPECT_FALSE(reply->ok);
    EXPECT_EQ(reply->error_code, "conflict");
    EXPECT_EQ(reply->error_message, "inspection I-1 is open");
}

TEST(Client, GarbageReplyIsCorrupt) {
    fieldlog::testing::TempDir dir;
    FakeDaemon daemon(dir / "control.sock", "HTTP/1.1 400 Bad Request\n");
    auto reply =
        exchange((dir / "control.sock").string(), status_request, within(std::chrono::seconds(5)));
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code(), Errc::corrupt);
    EXPECT_NE(reply.error().message().find("not valid JSON"), std::string::npos);
}

TEST(Client, ReplyPastTheSizeLimitIsCorrupt) {
    fieldlog::testing::TempDir dir;
    std::string big = R"({"ok": true, "result": {"pad": ")" + std::string(200'000, 'x') + "\"}}\n";
    FakeDaemon daemon(dir / "control.sock", big);
    ExchangeOptions options = within(std::chrono::seconds(5));
    options.max_reply_bytes = 100'000;
    auto reply = exchange((dir / "control.sock").string(), status_request, options);
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code(), Errc::corrupt);
    EXPECT_NE(reply.error().message().find("larger than 100000 bytes"), std::string::npos);
}

TEST(Client, ReplyCutShortIsCorruptAndSilenceBeforeCloseIsUnavailable) {
    fieldlog::testing::TempDir dir;
    {
        FakeDaemon daemon(dir / "a.sock", R"({"ok": tr)");
        auto reply =
            exchange((dir / "a.sock").string(), status_request, within(std::chrono::seconds(5)));
        ASSERT_FALSE(reply);
        EXPECT_EQ(reply.error().code(), Errc::corrupt);
        EXPECT_NE(reply.error().message().find("cut short"), std::string::npos);
    }
    FakeDaemon daemon(dir / "b.sock", "");
    auto reply =
        exchange((dir / "b.sock").string(), status_request, within(std::chrono::seconds(5)));
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code(), Errc::unavailable);
    EXPECT_NE(reply.error().message().find("closed without a reply"), std::string::npos);
}

TEST(Client, MissingSocketIsUnavailable) {
    fieldlog::testing::TempDir dir;
    auto reply =
        exchange((dir / "absent.sock").string(), status_request, within(std::chrono::seconds(5)));
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code(), Errc::unavailable);
    EXPECT_NE(reply.error().message().find("does not exist"), std::string::npos);
}

TEST(Client, SocketNobodyListensOnIsUnavailable) {
    fieldlog::testing::TempDir dir;
    auto path = (dir / "stale.sock").string();
    // Bound but not listening: what a crashed daemon leaves behind.
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.data(), path.size());
    ASSERT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
    auto reply = exchange(path, status_request, within(std::chrono::seconds(5)));
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code(), Errc::unavailable);
    EXPECT_NE(reply.error().message().find("connection refused"), std::string::npos);
}

TEST(Client, SilentDaemonTimesOut) {
    fieldlog::testing::TempDir dir;
    FakeDaemon daemon(dir / "control.sock", std::nullopt);
    auto start = std::chrono::steady_clock::now();
    auto reply = exchange((dir / "control.sock").string(), status_request,
                          within(std::chrono::milliseconds(200)));
    auto elapsed = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().code(), Errc::unavailable);
    EXPECT_NE(reply.error().message().find("no reply within 0.2 s"), std::string::npos)
        << reply.error().message();
    EXPECT_GE(elapsed, std::chrono::milliseconds(200));
    EXPECT_LT(elapsed, std::chrono::seconds(5));
    EXPECT_EQ(json::parse(daemon.received()), status_request);
}

TEST(ParseReply, AcceptsOnlyTheProtocolsShape) {
    auto ok = parse_reply(R"({"id": 3, "ok": true, "result": {}})");
    ASSERT_TRUE(ok);
    EXPECT_TRUE(ok->ok);

    for (std::string_view bad :
         {"", "[]", "{\"ok\": \"yes\"}", "{\"result\": {}}", "{\"ok\": true}",
          "{\"ok\": true, \"result\": 5}", "{\"ok\": false}",
          "{\"ok\": false, \"error\": {\"code\": 4}}", "{\"ok\": true, \"result\": {}} trailing",
          "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]"
          "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"}) {
        auto reply = parse_reply(bad);
        ASSERT_FALSE(reply) << bad;
        EXPECT_EQ(reply.error().code(), Errc::corrupt) << bad;
    }
}

}  // namespace
}  // namespace fieldlog::cli
