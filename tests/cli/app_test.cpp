#include "fieldlog/cli/app.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>
#include <sstream>
#include <thread>

#include "fake_daemon.hpp"
#include "fieldlog/files.hpp"
#include "temp_dir.hpp"

namespace fieldlog::cli {
namespace {

namespace json = boost::json;
using testing::FakeDaemon;

struct Outcome {
    int exit_code = -1;
    std::string out;
    std::string err;
};

class AppTest : public ::testing::Test {
protected:
    std::string socket() const { return (dir_ / "control.sock").string(); }

    // Runs the CLI against the fake daemon's socket.
    Outcome run_cli(std::vector<std::string> args) {
        args.insert(args.begin(), {"--socket", socket()});
        std::ostringstream out, err;
        int code = run(args, std::nullopt, out, err);
        return {code, out.str(), err.str()};
    }

    fieldlog::testing::TempDir dir_;
};

// One line, as the protocol frames it, whatever the layout of the literal.
std::string ok_reply(std::string_view result) {
    return json::serialize(json::object{{"ok", true}, {"result", json::parse(result)}}) + "\n";
}

std::string error_reply(std::string_view code, std::string_view message) {
    return json::serialize(
               json::object{{"ok", false}, {"error", {{"code", code}, {"message", message}}}}) +
           "\n";
}

const char* measurement_result = R"({"measurement": {"id": "M-1", "parameter": "COD",
    "value": 75, "unit": "mg/L", "limit_max": 50, "verdict": "exceeds",
    "exceedance_ratio": 0.5}})";

TEST_F(AppTest, RoundTripSendsTheRequestAndPrintsText) {
    FakeDaemon daemon(dir_ / "control.sock", ok_reply(measurement_result));
    Outcome outcome = run_cli({"measure", "add", "COD", "75", "mg/L", "--point", "outfall-1"});
    EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
    EXPECT_EQ(outcome.err, "");
    EXPECT_NE(outcome.out.find("exceeds, 50.0% over the limit"), std::string::npos) << outcome.out;
    EXPECT_EQ(json::parse(daemon.received()), json::parse(R"({"op": "measurement.add", "args": {
        "parameter": "COD", "value": 75.0, "unit": "mg/L", "sampling_point": "outfall-1"}})"));
}

TEST_F(AppTest, JsonOptionPrintsTheResultAsOneDocument) {
    FakeDaemon daemon(dir_ / "control.sock", ok_reply(measurement_result));
    Outcome outcome = run_cli({"measure", "add", "COD", "75", "mg/L", "--json"});
    ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
    boost::system::error_code ec;
    json::value printed = json::parse(outcome.out, ec);  // fails on a second document
    ASSERT_FALSE(ec) << outcome.out;
    EXPECT_EQ(printed, json::parse(measurement_result));
}

TEST_F(AppTest, DaemonErrorsBecomeExitCodes) {
    struct Case {
        std::string code;
        int exit_code;
    };
    for (const Case& c : {Case{"not_found", 4}, Case{"conflict", 5}, Case{"invalid_argument", 7},
                          Case{"no_space", 8}, Case{"database", 1}, Case{"something_new", 1}}) {
        auto socket_path = dir_ / (c.code + ".sock");
        FakeDaemon daemon(socket_path, error_reply(c.code, "went wrong"));
        std::ostringstream out, err;
        std::vector<std::string> args{"--socket", socket_path.string(), "inspection", "show",
                                      "I-9"};
        EXPECT_EQ(run(args, std::nullopt, out, err), c.exit_code) << c.code;
        EXPECT_EQ(err.str(), "fieldlog: " + c.code + ": went wrong\n");
        EXPECT_EQ(out.str(), "");
    }
}

const char* inspection_result = R"({"inspection": {"id": "I-1", "status": "open",
    "site_id": "wwtp-east", "site_name": "East plant", "kind": "wastewater_discharge"},
    "measurements": [], "comparisons": [], "photos": [], "rectifications": []})";

const char* marks = R"([{"id": "K-1", "inspection_id": "I-1", "label": "drums by the gate",
    "source": "button", "device_time_ms": 1795566600000, "gnss_time_ms": null, "lat": 30.5,
    "lon": 114.25}])";

std::string inspection_with_marks() {
    json::object result = json::parse(inspection_result).as_object();
    result["marks"] = json::parse(marks);
    return json::serialize(result);
}

// The daemon's inspection.show carries the marks: one request, and the fake daemon answers only
// one, so a second would fail the command.
TEST_F(AppTest, InspectionShowPrintsTheMarksFromItsOneRequest) {
    FakeDaemon daemon(dir_ / "control.sock", ok_reply(inspection_with_marks()));
    Outcome outcome = run_cli({"inspection", "show", "I-1"});
    ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
    EXPECT_NE(outcome.out.find("\nmarks\n"), std::string::npos) << outcome.out;
    EXPECT_NE(outcome.out.find("drums by the gate"), std::string::npos) << outcome.out;
    EXPECT_NE(outcome.out.find("30.5, 114.25"), std::string::npos) << outcome.out;
    EXPECT_EQ(json::parse(daemon.received()),
              json::parse(R"({"op": "inspection.show", "args": {"inspection_id": "I-1"}})"));
}

TEST_F(AppTest, InspectionShowJsonCarriesTheMarks) {
    FakeDaemon daemon(dir_ / "control.sock", ok_reply(inspection_with_marks()));
    Outcome outcome = run_cli({"inspection", "show", "I-1", "--json"});
    ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
    json::object printed = json::parse(outcome.out).as_object();
    EXPECT_EQ(printed.at("marks"), json::parse(marks));
    EXPECT_EQ(printed.at("inspection").at("id"), "I-1");
}

TEST_F(AppTest, InspectionShowFromADaemonWithoutMarksShowsNone) {
    FakeDaemon daemon(dir_ / "control.sock", ok_reply(inspection_result));
    Outcome outcome = run_cli({"inspection", "show", "I-1"});
    ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
    EXPECT_NE(outcome.out.find("inspection I-1 (open)"), std::string::npos) << outcome.out;
    EXPECT_NE(outcome.out.find("marks: none"), std::string::npos) << outcome.out;
}

TEST_F(AppTest, GarbageReplyIsAnErrorNotACrash) {
    FakeDaemon daemon(dir_ / "control.sock", "\x01\x02 garbage {{{\n");
    Outcome outcome = run_cli({"status"});
    EXPECT_EQ(outcome.exit_code, 1);
    EXPECT_EQ(outcome.err.rfind("fieldlog: bad_reply: reply is not valid JSON", 0), 0u)
        << outcome.err;
    EXPECT_EQ(outcome.out, "");
}

TEST_F(AppTest, MissingSocketExitsUnreachable) {
    Outcome outcome = run_cli({"status"});
    EXPECT_EQ(outcome.exit_code, 3);
    EXPECT_EQ(outcome.err.rfind("fieldlog: unreachable: fieldlogd at " + socket(), 0), 0u)
        << outcome.err;
}

TEST_F(AppTest, SilentDaemonTimesOutUnreachable) {
    FakeDaemon daemon(dir_ / "control.sock", std::nullopt);
    auto start = std::chrono::steady_clock::now();
    Outcome outcome = run_cli({"--timeout", "1", "status"});
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(outcome.exit_code, 3);
    EXPECT_NE(outcome.err.find("no reply within 1 s"), std::string::npos) << outcome.err;
    EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST_F(AppTest, UsageErrorSendsNothing) {
    // No daemon listens: were anything sent, the exit code would be 3.
    Outcome outcome = run_cli({"measure", "add", "COD", "75", "mg/L", "--method", "guess"});
    EXPECT_EQ(outcome.exit_code, 2);
    EXPECT_EQ(outcome.err.rfind("fieldlog: usage: --method:", 0), 0u) << outcome.err;
    EXPECT_NE(outcome.err.find("fieldlog measure add --help"), std::string::npos) << outcome.err;
}

TEST_F(AppTest, VerifyProblemsExitSix) {
    FakeDaemon daemon(dir_ / "control.sock", ok_reply(R"({"ok": false, "entries_checked": 4,
        "records_checked": 3, "head_seq": 4, "problems": [{"seq": 2, "kind": "photo",
        "record_id": "P-1", "what": "blob missing"}]})"));
    Outcome outcome = run_cli({"verify"});
    EXPECT_EQ(outcome.exit_code, 6);
    EXPECT_EQ(outcome.out, "seq 2: photo P-1: blob missing\n");
}

// A daemon for `sync --wait`: it holds the sync request until it has answered two status
// requests (with less left each time), then says the outbox is drained. Every wait is bounded.
class SyncingDaemon {
public:
    explicit SyncingDaemon(const std::filesystem::path& path)
        : listener_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::string text = path.string();
        std::memcpy(address.sun_path, text.data(), text.size());
        // The cast is how the sockets API takes every address family.
        if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) !=
                0 ||
            ::listen(listener_.get(), 8) != 0) {
            throw std::runtime_error("cannot listen on " + text);
        }
        thread_ = std::thread([this] { serve(); });
    }
    ~SyncingDaemon() { thread_.join(); }

private:
    static std::string read_line(int fd) {
        std::string line;
        char c = 0;
        pollfd entry{fd, POLLIN, 0};
        while (::poll(&entry, 1, 10'000) > 0 && ::recv(fd, &c, 1, 0) == 1 && c != '\n') {
            line.push_back(c);
        }
        return line;
    }
    static void send_line(int fd, const std::string& line) {
        ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
    }

    void serve() {
        UniqueFd held;
        int statuses = 0;
        pollfd entry{listener_.get(), POLLIN, 0};
        while (statuses < 2 && ::poll(&entry, 1, 10'000) > 0) {
            UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!connection) return;
            json::value request = json::parse(read_line(connection.get()));
            if (request.at("op") == "sync") {
                held = std::move(connection);
                continue;
            }
            int left = 10 - 5 * statuses++;
            send_line(connection.get(), ok_reply(R"({"sync": {"enabled": true, "state": "syncing",
                          "pending_entries": )" + std::to_string(left) +
                                                 R"(, "pending_bytes": )" +
                                                 std::to_string(left * 100) + "}}"));
        }
        if (held) {
            send_line(held.get(), ok_reply(R"({"drained": true, "sync": {"state": "idle"}})"));
        }
    }

    UniqueFd listener_;
    std::thread thread_;
};

TEST_F(AppTest, SyncWaitShowsWhatIsLeftOnATerminal) {
    SyncingDaemon daemon(dir_ / "control.sock");
    std::ostringstream out, err;
    RunOptions options;
    options.progress = true;
    options.progress_interval = std::chrono::milliseconds(20);
    std::vector<std::string> args{"--socket", socket(), "sync", "--wait"};
    int code = run(args, std::nullopt, out, err, options);
    EXPECT_EQ(code, 0) << err.str();
    EXPECT_EQ(out.str(), "outbox drained (sync idle)\n");
    EXPECT_NE(err.str().find("\rsyncing: 10 records (1000 B) left"), std::string::npos)
        << err.str();
    EXPECT_NE(err.str().find("\rsyncing: 5 records (500 B) left"), std::string::npos) << err.str();
    // The progress line is wiped before the result is printed.
    EXPECT_EQ(err.str().back(), '\r');
}

TEST_F(AppTest, SyncWaitWithoutATerminalPrintsOnlyTheResult) {
    FakeDaemon daemon(dir_ / "control.sock",
                      ok_reply(R"({"drained": true, "sync": {"state": "idle"}})"));
    Outcome outcome = run_cli({"sync", "--wait"});
    EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
    EXPECT_EQ(outcome.err, "");
    EXPECT_EQ(outcome.out, "outbox drained (sync idle)\n");
    EXPECT_EQ(json::parse(daemon.received()),
              json::parse(R"({"op": "sync", "args": {"wait": true}})"));
}

TEST_F(AppTest, ExportWritesCsvFileAtomically) {
    FakeDaemon daemon(dir_ / "control.sock", ok_reply(R"({"device_id": "dev-1",
        "from_ms": 1793491200000, "to_ms": 1796083199999, "inspections": [],
        "complaints": [{"case_number": "C-1", "batch_number": 2, "summary": "smell, at night"}],
        "document_batches": [], "rectifications": []})"));
    auto path = dir_ / "november.csv";
    Outcome outcome = run_cli({"export", "--from", "2026-11-01", "--to", "2026-11-30", "--format",
                               "csv", "--output", path.string()});
    ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
    EXPECT_NE(outcome.out.find("wrote " + path.string()), std::string::npos) << outcome.out;
    EXPECT_NE(outcome.out.find("1 complaints"), std::string::npos) << outcome.out;
    auto content = read_file(path, 1 << 20);
    ASSERT_TRUE(content);
    EXPECT_NE(content->find("\r\ncomplaint,C-1,2,\"smell, at night\","), std::string::npos)
        << *content;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "november.csv.tmp"));
    EXPECT_EQ(json::parse(daemon.received()), json::parse(R"({"op": "export", "args": {
        "from_ms": 1793491200000, "to_ms": 1796083199999}})"));
}

}  // namespace
}  // namespace fieldlog::cli
