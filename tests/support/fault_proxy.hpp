// A fault-injecting HTTP/1.1 proxy for end-to-end sync tests: it listens on 127.0.0.1 (an
// ephemeral port), forwards each exchange of a connection to an upstream port on 127.0.0.1, and
// applies a scripted fault to the exchanges a rule matches: a cut after so many bytes of the
// request or the response, a stall, a delay, an answer of its own (a 503 with Retry-After, bytes
// that are not HTTP at all), a truncated body, or a rewritten response. It counts the bytes it
// forwards in both directions and keeps a log of every exchange.
//
// It runs one Asio io_context on a thread of its own; every method may be called from any thread.
// Everything it waits for is bounded: a stall ends when the client gives up or after a cap.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fieldlog::testing {

// One HTTP message as it crossed the proxy.
struct HttpMessage {
    std::string start_line;  // "PATCH /v1/... HTTP/1.1" or "HTTP/1.1 204 No Content"
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    std::string method() const;  // requests
    std::string target() const;  // requests
    int status() const;          // responses; 0 when the start line is not a status line
    // The last header of that name, compared without regard to case.
    std::optional<std::string> header(std::string_view name) const;
    // Replaces every header of that name by one with value.
    void set_header(std::string_view name, std::string value);
    // Head and body, with Content-Length set to the body's size.
    std::string serialize() const;
};

// What the proxy does with one exchange. Every kind first waits delay.
struct ProxyAction {
    enum class Kind {
        forward,         // the request up, the response down
        cut_request,     // the request head and the first `bytes` bytes of its body go up; then
                         // both connections close. A body no longer than that goes through
                         // whole, as over a link that breaks after so many bytes.
        cut_response,    // forwarded; the first `bytes` bytes of the response go down; close
        truncate_body,   // forwarded; the response head and `bytes` bytes of its body go down;
                         // close (the head still announces the whole body)
        stall,           // nothing goes up; the client hears nothing until it gives up, or
                         // stall_cap passes; then close
        stall_response,  // forwarded, so the server acts on it; the response is withheld as in
                         // stall
        reply,           // the proxy answers `status`, `headers`, `body` itself and closes
        raw,             // the proxy writes `body` as it is (not HTTP at all) and closes
        rewrite,         // forwarded; the response goes down as `rewrite` returns it
    };
    Kind kind = Kind::forward;
    std::chrono::milliseconds delay{0};
    std::size_t bytes = 0;
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::function<HttpMessage(const HttpMessage& request, HttpMessage response)> rewrite;

    static ProxyAction forward() { return {}; }
    static ProxyAction delayed(std::chrono::milliseconds by);
    static ProxyAction cut_request_after(std::size_t body_bytes);
    static ProxyAction cut_response_after(std::size_t response_bytes);
    static ProxyAction truncate_body_to(std::size_t body_bytes);
    static ProxyAction stall_request();
    static ProxyAction stall_after_forwarding();
    static ProxyAction answer(int status,
                              std::vector<std::pair<std::string, std::string>> headers = {},
                              std::string body = {});
    static ProxyAction raw_bytes(std::string bytes);
    static ProxyAction rewrite_response(
        std::function<HttpMessage(const HttpMessage&, HttpMessage)> rewrite);
};

// Applies action to the next `times` exchanges whose request matches (times < 0: every one).
struct ProxyRule {
    std::string method;           // "" matches any
    std::string target_contains;  // "" matches any
    ProxyAction action;
    int times = 1;
};

// What happened to one exchange.
struct ProxyExchange {
    std::uint64_t connection = 0;
    std::string method;
    std::string target;
    ProxyAction::Kind action = ProxyAction::Kind::forward;
    std::size_t request_bytes = 0;     // the whole request as the client sent it
    std::size_t upstream_bytes = 0;    // of it, what went to the server
    std::size_t downstream_bytes = 0;  // what went to the client
    int status = 0;                    // of the response the client got (0: none)
    bool finished = false;             // the response went down, or the connection closed
    std::chrono::steady_clock::time_point started;
};

std::string_view kind_name(ProxyAction::Kind kind);

class FaultProxy {
public:
    // Forwards to 127.0.0.1:upstream_port; 0 means no server: connections are closed at once.
    explicit FaultProxy(std::uint16_t upstream_port = 0);
    ~FaultProxy();
    FaultProxy(const FaultProxy&) = delete;
    FaultProxy& operator=(const FaultProxy&) = delete;

    std::uint16_t port() const;
    std::string url() const;  // "http://127.0.0.1:PORT"

    // Where new upstream connections go; connections already open keep theirs.
    void set_upstream(std::uint16_t port);
    // Closes every open connection (client and upstream side) at once.
    void close_connections();

    // Rules are tried in order; the first that matches and has uses left applies.
    void add_rule(ProxyRule rule);
    void clear_rules();
    // What exchanges no rule matches get (default: forward).
    void set_default(ProxyAction action);
    // How long a stall holds the client at most.
    void set_stall_cap(std::chrono::milliseconds cap);

    std::vector<ProxyExchange> exchanges() const;
    std::size_t upstream_bytes() const;
    std::size_t downstream_bytes() const;
    // Bytes sent upstream in exchanges whose target contains text.
    std::size_t upstream_bytes_for(std::string_view target_contains) const;
    // Exchanges whose action was kind and whose target contains text.
    std::size_t count(ProxyAction::Kind kind, std::string_view target_contains = {}) const;
    // Rules with uses left.
    std::size_t rules_left() const;
    // Exchanges whose target contains text that went (partly) upstream and are not finished:
    // the server is working on them, or its answer is on the way.
    std::size_t in_flight(std::string_view target_contains = {}) const;

    struct State;

private:
    std::unique_ptr<State> state_;
};

}  // namespace fieldlog::testing
