// Untrusted input on the control socket (design invariant 7): every bad request gets a clear
// error, changes nothing, and the daemon keeps serving that client and the others.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <thread>

#include "daemon_process.hpp"
#include "temp_dir.hpp"

namespace fieldlog::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class ControlSocketTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto config = default_daemon_config(dir_.path());
        config.max_request_bytes = 4096;
        config.max_clients = 4;
        daemon_.emplace(dir_.path(), config);
        ASSERT_TRUE(daemon_->start());
    }

    void TearDown() override {
        // Whatever a test sent, the daemon is still up and answers a new client.
        ASSERT_TRUE(daemon_->running()) << daemon_->output();
        EXPECT_FALSE(daemon_->ok("status").empty());
    }

    std::int64_t head_seq() {
        auto status = daemon_->ok("status");
        return status.empty() ? -1 : status.at("outbox").at("head_seq").as_int64();
    }

    // Sends raw bytes on client and parses the reply line.
    static json::value reply_to(ControlClient& client, std::string_view bytes) {
        EXPECT_TRUE(client.send(bytes));
        auto line = client.read_line();
        if (!line) {
            ADD_FAILURE() << "no reply to " << bytes;
            return {};
        }
        return json::parse(*line);
    }

    TempDir dir_;
    std::optional<DaemonProcess> daemon_;
};

TEST_F(ControlSocketTest, BadRequestsGetInvalidArgumentAndTheConnectionStaysUsable) {
    const std::int64_t before = head_seq();
    auto client = daemon_->connect();
    ASSERT_TRUE(client);

    struct Case {
        const char* line;
        const char* message_part;
    };
    const Case cases[] = {
        {R"({"op": "status", )", "not valid JSON"},
        {"\x01\xff garbage", "not valid JSON"},
        {R"(["status"])", "must be a JSON object"},
        {R"({"id": 9})", "\"op\""},
        {R"({"id": 9, "op": ""})", "\"op\""},
        {R"({"op": 42})", "\"op\""},
        {R"({"op": "inspection.destroy"})", "unknown operation 'inspection.destroy'"},
        {R"({"op": "status", "verbose": true})", "unknown request field 'verbose'"},
        {R"({"op": "status", "args": [1, 2]})", "\"args\" must be a JSON object"},
        {R"({"op": "complaint.add", "args": {"case_number": 7, "batch_number": 1}})",
         "case_number"},
        {R"({"op": "complaint.add", "args": {"case_number": "A-1", "batch_number": "one"}})",
         "batch_number"},
        {R"({"op": "document.add", "args": {"batch_number": 1, "items": 5, "documents": 2}})",
         "documents"},
        {R"({"op": "complaint.add", "args": {"case_number": "A-1", "batch_number": 1, "x": 1}})",
         "x"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.line);
        json::value reply = reply_to(*client, std::string(c.line) + "\n");
        ASSERT_TRUE(reply.is_object()) << reply;
        EXPECT_FALSE(reply.at("ok").as_bool()) << reply;
        EXPECT_EQ(error_code(reply), "invalid_argument") << reply;
        EXPECT_NE(error_message(reply).find(c.message_part), std::string::npos) << reply;
        // The same connection still serves a good request.
        auto status = client->request(json::object{{"id", "after"}, {"op", "status"}});
        ASSERT_TRUE(status);
        EXPECT_EQ(status->at("id"), "after");
        EXPECT_TRUE(status->at("ok").as_bool()) << *status;
    }
    // An id the daemon could read is echoed even on an error.
    json::value unknown = reply_to(*client, R"({"id": [1, "x"], "op": "nope"})"
                                            "\n");
    EXPECT_EQ(unknown.at("id"), json::parse(R"([1, "x"])"));
    EXPECT_EQ(head_seq(), before) << "a refused request wrote something";
}

TEST_F(ControlSocketTest, OversizeRequestGetsTooLargeAndTheConnectionCloses) {
    auto client = daemon_->connect();
    ASSERT_TRUE(client);
    std::string oversize = R"({"op": "status", "id": ")" + std::string(6000, 'x') + "\"}\n";
    ASSERT_TRUE(client->send(oversize));
    auto line = client->read_line();
    ASSERT_TRUE(line) << "no reply to an oversize request";
    json::value reply = json::parse(*line);
    EXPECT_EQ(error_code(reply), "too_large") << reply;
    EXPECT_NE(error_message(reply).find("4096"), std::string::npos) << reply;
    EXPECT_TRUE(client->wait_closed()) << "the connection stayed open after too_large";

    // A request of exactly the limit, newline included, is still served.
    auto fresh = daemon_->connect();
    ASSERT_TRUE(fresh);
    std::string prefix = R"({"op": "status", "id": ")";
    std::string at_limit = prefix + std::string(4096 - prefix.size() - 3, 'y') + "\"}\n";
    ASSERT_EQ(at_limit.size(), 4096u);
    json::value ok = reply_to(*fresh, at_limit);
    EXPECT_TRUE(ok.at("ok").as_bool()) << error_message(ok);
}

TEST_F(ControlSocketTest, RequestSplitOverSeveralWritesIsAnsweredOnceComplete) {
    auto client = daemon_->connect();
    ASSERT_TRUE(client);
    const std::string request =
        R"({"id": 5, "op": "complaint.add", "args": {"case_number": "S-1", "batch_number": 2}})"
        "\n";
    const std::size_t cuts[] = {1, 17, 40, request.size() - 1};
    std::size_t from = 0;
    for (std::size_t cut : cuts) {
        ASSERT_TRUE(client->send(std::string_view(request).substr(from, cut - from)));
        from = cut;
        // Nothing is answered before the newline; the wait also keeps the pieces apart.
        EXPECT_FALSE(client->read_line(50ms)) << "answered a partial request";
    }
    ASSERT_TRUE(client->send(std::string_view(request).substr(from)));
    auto line = client->read_line();
    ASSERT_TRUE(line);
    json::value reply = json::parse(*line);
    EXPECT_EQ(reply.at("id"), 5);
    EXPECT_TRUE(reply.at("ok").as_bool()) << reply;
    EXPECT_EQ(reply.at("result").at("complaint").at("case_number"), "S-1");
    EXPECT_FALSE(client->read_line(100ms)) << "a second reply to one request";
}

TEST_F(ControlSocketTest, PipelinedRequestsInOneWriteAreAnsweredInOrder) {
    auto client = daemon_->connect();
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->send(
        R"({"id": 1, "op": "complaint.add", "args": {"case_number": "P-1", "batch_number": 1}})"
        "\n"
        R"({"id": 2, "op": "nope"})"
        "\n"
        "\n"
        R"({"id": 3, "op": "complaint.list"})"
        "\n"));
    std::vector<json::value> replies;
    for (int i = 0; i < 3; ++i) {
        auto line = client->read_line();
        ASSERT_TRUE(line) << "reply " << i + 1 << " missing";
        replies.push_back(json::parse(*line));
    }
    EXPECT_EQ(replies[0].at("id"), 1);
    EXPECT_TRUE(replies[0].at("ok").as_bool()) << replies[0];
    EXPECT_EQ(replies[1].at("id"), 2);
    EXPECT_EQ(error_code(replies[1]), "invalid_argument");
    EXPECT_EQ(replies[2].at("id"), 3);
    // The write was acknowledged before the read that follows it ran.
    ASSERT_TRUE(replies[2].at("ok").as_bool()) << replies[2];
    EXPECT_EQ(replies[2].at("result").at("complaints").as_array().size(), 1u);
    EXPECT_FALSE(client->read_line(100ms)) << "a reply to the empty line";
}

TEST_F(ControlSocketTest, ClientBeyondMaxClientsGetsUnavailable) {
    std::vector<ControlClient> clients;
    for (int i = 0; i < 4; ++i) {
        auto client = daemon_->connect();
        ASSERT_TRUE(client);
        // A reply proves the daemon has taken this client on.
        auto reply = client->request(json::object{{"op", "status"}});
        ASSERT_TRUE(reply && reply->at("ok").as_bool()) << "client " << i;
        clients.push_back(std::move(*client));
    }
    auto extra = daemon_->connect();
    ASSERT_TRUE(extra);
    auto line = extra->read_line();
    ASSERT_TRUE(line) << "the extra client was not told why";
    json::value refused = json::parse(*line);
    EXPECT_EQ(error_code(refused), "unavailable") << refused;
    EXPECT_NE(error_message(refused).find("max_clients"), std::string::npos) << refused;
    EXPECT_TRUE(extra->wait_closed());

    // The clients already in are unaffected.
    for (auto& client : clients) {
        auto reply = client.request(json::object{{"op", "status"}});
        ASSERT_TRUE(reply && reply->at("ok").as_bool());
    }
    // Once one leaves, a newcomer gets in (as soon as the daemon has seen the leave).
    clients.pop_back();
    const auto deadline = std::chrono::steady_clock::now() + reply_timeout;
    bool served = false;
    while (!served && std::chrono::steady_clock::now() < deadline) {
        auto newcomer = daemon_->connect();
        ASSERT_TRUE(newcomer);
        auto reply = newcomer->request(json::object{{"op", "status"}});
        if (reply && reply->at("ok").as_bool()) {
            served = true;
        } else {
            std::this_thread::sleep_for(10ms);
        }
    }
    EXPECT_TRUE(served) << "no slot came free after a client left";
}

TEST_F(ControlSocketTest, ClientLeavingMidRequestDoesNotDisturbTheDaemon) {
    // Three, so that they and the test's own client stay within max_clients.
    for (int i = 0; i < 3; ++i) {
        auto client = daemon_->connect();
        ASSERT_TRUE(client);
        ASSERT_TRUE(client->send(R"({"op": "complaint.add", "args": {"case_number": "L-)" +
                                 std::to_string(i) +
                                 R"(", "batch_number": 4}})"
                                 "\n"));
    }  // each client closes without reading its reply
    // Every write still commits, in full, and the daemon serves on.
    const auto deadline = std::chrono::steady_clock::now() + reply_timeout;
    std::size_t stored = 0;
    while (stored < 3 && std::chrono::steady_clock::now() < deadline) {
        auto list = daemon_->ok("complaint.list", {{"batch_number", 4}});
        stored = list.empty() ? 0 : list.at("complaints").as_array().size();
        if (stored < 3) {
            std::this_thread::sleep_for(10ms);
        }
    }
    EXPECT_EQ(stored, 3u);
    auto verified = daemon_->ok("verify");
    EXPECT_TRUE(verified.at("ok").as_bool()) << json::value(verified);
}

}  // namespace
}  // namespace fieldlog::testing
