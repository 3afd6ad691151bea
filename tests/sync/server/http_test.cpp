// The HTTP front end: bounded input, refused targets, keep-alive, the access log, the
// connection cap and timeouts, and a stop that finishes requests in flight.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <set>
#include <thread>

#include "fieldlog/files.hpp"
#include "server_harness.hpp"

namespace fieldlog::server::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Ms = std::chrono::milliseconds;

// A client that sends exactly the bytes given, for what a well-behaved client never sends.
class RawConnection {
public:
    explicit RawConnection(std::uint16_t port)
        : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            throw std::runtime_error("connect failed");
        }
    }

    bool send(std::string_view data) {
        while (!data.empty()) {
            ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Reads until the peer closes, the limit passes, or (when stop_at is given) it arrives.
    std::string read(Ms limit, std::string_view stop_at = {}) {
        std::string out;
        auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            pollfd p{fd_.get(), POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
            char buffer[4096];
            ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
            if (n <= 0) {
                closed_ = true;
                break;
            }
            out.append(buffer, static_cast<std::size_t>(n));
            if (!stop_at.empty() && out.find(stop_at) != std::string::npos) break;
        }
        return out;
    }
    bool closed() const { return closed_; }

private:
    UniqueFd fd_;
    bool closed_ = false;
};

std::string health_request() { return "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"; }

TEST(Http, OversizeBatchGets413) {
    TestServer server;
    std::string token = server.enrol("big-01");
    std::string body = R"({"entries": [")" + std::string(9 * 1024 * 1024, 'a') + R"("]})";
    auto reply = server.send("POST", "/v1/devices/big-01/batches", token, body);
    EXPECT_EQ(reply.status, 413);
    EXPECT_EQ(error_code(reply), "too_large");
    EXPECT_EQ(stored_counts(server.data_dir(), "big-01").entries, 0);
}

TEST(Http, OversizeBodySentWithoutWaitingGets413) {
    TestServer server([](ServerConfig& c) { c.max_body_bytes = 64 * 1024; });
    RawConnection raw(server.port());
    std::string body(200 * 1024, 'x');
    raw.send(
        "POST /v1/devices/a/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n");
    raw.send(body);
    std::string reply = raw.read(Ms(5000));
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 413"));
    EXPECT_THAT(reply, HasSubstr("too_large"));
}

TEST(Http, ChunkedBodyOverTheLimitGets413) {
    TestServer server([](ServerConfig& c) { c.max_body_bytes = 64 * 1024; });
    RawConnection raw(server.port());
    raw.send("POST /v1/admin/devices HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    std::string chunk(32 * 1024, 'x');
    for (int i = 0; i < 3; ++i) {
        char size[16];
        std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
        if (!raw.send(std::string(size) + chunk + "\r\n")) break;
    }
    EXPECT_THAT(raw.read(Ms(5000)), StartsWith("HTTP/1.1 413"));
}

TEST(Http, HeaderTooLargeGets431) {
    TestServer server;
    HttpHeaders headers{{"X-Padding", std::string(20 * 1024, 'p')}};
    auto reply = server.client().request("GET", "/v1/health", headers).value();
    EXPECT_EQ(reply.status, 431);
}

TEST(Http, MalformedRequestGets400) {
    TestServer server;
    RawConnection raw(server.port());
    raw.send("GARBAGE\r\n\r\n");
    EXPECT_THAT(raw.read(Ms(5000)), StartsWith("HTTP/1.1 400"));
}

TEST(Http, PathTraversalTargetsGet400) {
    TestServer server;
    std::string token = server.enrol("cam-01");
    for (const std::string target :
         {"/v1/devices/../admin/devices", "/v1/devices/%2e%2e/batches",
          "/v1/devices/cam-01/blobs/../../../etc/passwd", "/v1/./records", "/v1//records",
          "/v1/devices/cam%2f01/batches", "/v1/devices/../../etc/logs"}) {
        auto reply = server.send("GET", target, token);
        EXPECT_EQ(reply.status, 400) << target;
        EXPECT_EQ(error_code(reply), "bad_target") << target;
    }
    RawConnection raw(server.port());
    raw.send("GET http://elsewhere/v1/records HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_THAT(raw.read(Ms(5000), "\r\n\r\n"), StartsWith("HTTP/1.1 400"));
}

TEST(Http, UnknownResourceGets404AndWrongMethod405) {
    TestServer server;
    EXPECT_EQ(server.admin("GET", "/v2/records").status, 404);
    EXPECT_EQ(server.admin("GET", "/v1/nothing").status, 404);
    auto wrong = server.admin("DELETE", "/v1/records");
    EXPECT_EQ(wrong.status, 405);
    EXPECT_EQ(wrong.header("Allow"), "GET");
}

TEST(Http, KeepAliveServesRequestsOnOneConnection) {
    TestServer server;
    auto client = server.client();
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(client.request("GET", "/v1/health").value().status, 200);
    }
    auto health_lines = [](const json::object& o) {
        return o.contains("target") && o.at("target") == "/v1/health";
    };
    std::set<std::string> peers;
    std::size_t lines = 0;
    for (const json::object& o : server.wait_for_log(
             [&](const json::object& o) { return health_lines(o) && ++lines >= 3; })) {
        if (health_lines(o)) peers.insert(std::string(o.at("peer").as_string()));
    }
    EXPECT_EQ(peers.size(), 1u);
}

TEST(Http, EveryRequestGetsAStructuredAccessLogLine) {
    TestServer server;
    std::string token = server.enrol("handheld-01");
    DeviceChain chain("handheld-01");
    chain.append("device_log", "1", log_record(1, 1, "boot"));
    ASSERT_EQ(server.post_batch("handheld-01", token, chain.batch(1, 1)).status, 200);
    auto is_batch = [](const json::object& o) {
        return o.contains("target") && o.at("target") == "/v1/devices/handheld-01/batches";
    };
    std::optional<json::object> line;
    for (const json::object& o : server.wait_for_log(is_batch)) {
        if (is_batch(o)) line = o;
    }
    ASSERT_TRUE(line);
    for (const char* key :
         {"time", "peer", "method", "target", "status", "bytes", "duration_ms", "device_id"}) {
        EXPECT_TRUE(line->contains(key)) << key;
    }
    EXPECT_EQ(line->at("method"), "POST");
    EXPECT_EQ(line->at("status"), 200);
    EXPECT_EQ(line->at("device_id"), "handheld-01");
    EXPECT_THAT(std::string(line->at("peer").as_string()), StartsWith("127.0.0.1:"));
    EXPECT_GT(line->at("bytes").as_int64(), 0);
}

TEST(Http, StopFinishesTheRequestInFlight) {
    TestServer server;
    RawConnection raw(server.port());
    std::string body = R"({"device_id": "late-01"})";
    raw.send("POST /v1/admin/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
             server.admin_token() + "\r\nContent-Type: application/json\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 5));
    // Let the server see the start of the request before it is told to stop.
    std::this_thread::sleep_for(Ms(200));
    server.server().stop();
    std::this_thread::sleep_for(Ms(200));
    raw.send(body.substr(5));
    std::string reply = raw.read(Ms(5000));
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 201"));
    EXPECT_THAT(reply, HasSubstr("Connection: close"));
    EXPECT_TRUE(server.stop_and_wait(Ms(5000)));
}

TEST(Http, StopClosesIdleConnectionsAtOnce) {
    TestServer server;  // request_timeout 30 s: the stop must not wait for it
    RawConnection idle(server.port());
    idle.send(health_request());
    ASSERT_THAT(idle.read(Ms(5000), "\"ok\""), StartsWith("HTTP/1.1 200"));
    auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(server.stop_and_wait(Ms(5000)));
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
    idle.read(Ms(2000));
    EXPECT_TRUE(idle.closed());
    EXPECT_THROW(server.client().request("GET", "/v1/health").value(), std::exception);
}

TEST(Http, ConnectionsBeyondTheCapAreClosed) {
    TestServer server([](ServerConfig& c) { c.max_connections = 2; });
    RawConnection first(server.port());
    RawConnection second(server.port());
    for (RawConnection* c : {&first, &second}) {
        c->send(health_request());
        ASSERT_THAT(c->read(Ms(5000), "\"ok\""), StartsWith("HTTP/1.1 200"));
    }
    RawConnection third(server.port());
    third.send(health_request());
    EXPECT_EQ(third.read(Ms(5000)), "");
    EXPECT_TRUE(third.closed());
    first.send(health_request());
    EXPECT_THAT(first.read(Ms(5000), "\"ok\""), StartsWith("HTTP/1.1 200"));
}

TEST(Http, SilentClientIsDisconnectedAfterTheRequestTimeout) {
    TestServer server([](ServerConfig& c) { c.request_timeout = std::chrono::seconds(1); });
    RawConnection silent(server.port());
    silent.send("GET /v1/hea");
    auto started = std::chrono::steady_clock::now();
    silent.read(Ms(5000));
    EXPECT_TRUE(silent.closed());
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
}

}  // namespace
}  // namespace fieldlog::server::testing
