#include "fault_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace fieldlog::testing {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t max_head_bytes = 64 * 1024;
constexpr std::size_t max_body_bytes = std::size_t{64} << 20;
constexpr int max_exchanges_per_connection = 1'000'000;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) {
            return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::string trim(std::string_view text) {
    auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    auto last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
}

std::string word(std::string_view line, std::size_t index) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < index; ++i) {
        start = line.find(' ', start);
        if (start == std::string_view::npos) return {};
        ++start;
    }
    auto end = line.find(' ', start);
    return std::string(line.substr(start, end == std::string_view::npos ? end : end - start));
}

// Start line and headers of a head that ends with an empty line.
HttpMessage parse_head(std::string_view head) {
    HttpMessage message;
    std::size_t at = 0;
    bool first = true;
    while (at < head.size()) {
        auto end = head.find("\r\n", at);
        if (end == std::string_view::npos) end = head.size();
        std::string_view line = head.substr(at, end - at);
        at = end + 2;
        if (first) {
            message.start_line = std::string(line);
            first = false;
            continue;
        }
        if (line.empty()) break;
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        message.headers.emplace_back(std::string(line.substr(0, colon)),
                                     trim(line.substr(colon + 1)));
    }
    return message;
}

std::optional<std::size_t> content_length(const HttpMessage& message) {
    auto text = message.header("Content-Length");
    if (!text) return std::nullopt;
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc() || end != text->data() + text->size()) {
        throw std::runtime_error("bad Content-Length " + *text);
    }
    return n;
}

// A message as it came off the wire: head (with its empty line) and body.
struct Received {
    HttpMessage message;
    std::string head;
    bool complete = false;  // false: the peer closed before a single byte of a message
    std::string raw() const { return head + message.body; }
};

}  // namespace

std::string HttpMessage::method() const { return word(start_line, 0); }
std::string HttpMessage::target() const { return word(start_line, 1); }

int HttpMessage::status() const {
    std::string code = word(start_line, 1);
    int n = 0;
    auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), n);
    if (ec != std::errc() || end != code.data() + code.size() || !start_line.starts_with("HTTP/")) {
        return 0;
    }
    return n;
}

std::optional<std::string> HttpMessage::header(std::string_view name) const {
    for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
        if (iequal(it->first, name)) return it->second;
    }
    return std::nullopt;
}

void HttpMessage::set_header(std::string_view name, std::string value) {
    std::erase_if(headers, [&](const auto& h) { return iequal(h.first, name); });
    headers.emplace_back(std::string(name), std::move(value));
}

std::string HttpMessage::serialize() const {
    std::string out = start_line + "\r\n";
    for (const auto& [name, value] : headers) {
        if (iequal(name, "Content-Length") || iequal(name, "Transfer-Encoding")) continue;
        out += name + ": " + value + "\r\n";
    }
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    out += body;
    return out;
}

ProxyAction ProxyAction::delayed(std::chrono::milliseconds by) {
    ProxyAction a;
    a.delay = by;
    return a;
}

ProxyAction ProxyAction::cut_request_after(std::size_t body_bytes) {
    ProxyAction a;
    a.kind = Kind::cut_request;
    a.bytes = body_bytes;
    return a;
}

ProxyAction ProxyAction::cut_response_after(std::size_t response_bytes) {
    ProxyAction a;
    a.kind = Kind::cut_response;
    a.bytes = response_bytes;
    return a;
}

ProxyAction ProxyAction::truncate_body_to(std::size_t body_bytes) {
    ProxyAction a;
    a.kind = Kind::truncate_body;
    a.bytes = body_bytes;
    return a;
}

ProxyAction ProxyAction::stall_request() {
    ProxyAction a;
    a.kind = Kind::stall;
    return a;
}

ProxyAction ProxyAction::stall_after_forwarding() {
    ProxyAction a;
    a.kind = Kind::stall_response;
    return a;
}

ProxyAction ProxyAction::answer(int status,
                                std::vector<std::pair<std::string, std::string>> headers,
                                std::string body) {
    ProxyAction a;
    a.kind = Kind::reply;
    a.status = status;
    a.headers = std::move(headers);
    a.body = std::move(body);
    return a;
}

ProxyAction ProxyAction::raw_bytes(std::string bytes) {
    ProxyAction a;
    a.kind = Kind::raw;
    a.body = std::move(bytes);
    return a;
}

ProxyAction ProxyAction::rewrite_response(
    std::function<HttpMessage(const HttpMessage&, HttpMessage)> rewrite) {
    ProxyAction a;
    a.kind = Kind::rewrite;
    a.rewrite = std::move(rewrite);
    return a;
}

std::string_view kind_name(ProxyAction::Kind kind) {
    switch (kind) {
        case ProxyAction::Kind::forward:
            return "forward";
        case ProxyAction::Kind::cut_request:
            return "cut_request";
        case ProxyAction::Kind::cut_response:
            return "cut_response";
        case ProxyAction::Kind::truncate_body:
            return "truncate_body";
        case ProxyAction::Kind::stall:
            return "stall";
        case ProxyAction::Kind::stall_response:
            return "stall_response";
        case ProxyAction::Kind::reply:
            return "reply";
        case ProxyAction::Kind::raw:
            return "raw";
        case ProxyAction::Kind::rewrite:
            return "rewrite";
    }
    return "?";
}

// One client connection and, once an exchange is forwarded, its upstream connection. Owned by
// its session coroutine; close() may come from close_connections() as well.
struct Connection {
    explicit Connection(asio::io_context& io, tcp::socket socket)
        : client(std::move(socket)), upstream(io), timer(io) {}
    tcp::socket client;
    tcp::socket upstream;
    asio::steady_timer timer;  // delays and stalls
    void close() {
        boost::system::error_code ignored;
        client.shutdown(tcp::socket::shutdown_both, ignored);
        client.close(ignored);
        upstream.shutdown(tcp::socket::shutdown_both, ignored);
        upstream.close(ignored);
        timer.cancel();
    }
};

struct FaultProxy::State {
    // Declared first, so destroyed last: the sessions it still holds go before the rest.
    asio::io_context io;
    tcp::acceptor acceptor{io};
    std::uint16_t port = 0;
    std::thread thread;

    mutable std::mutex mutex;
    std::uint16_t upstream = 0;
    std::vector<ProxyRule> rules;
    ProxyAction fallback;
    std::chrono::milliseconds stall_cap{30'000};
    std::vector<ProxyExchange> log;
    std::size_t up_total = 0;
    std::size_t down_total = 0;
    std::uint64_t connections = 0;
    std::map<std::uint64_t, std::weak_ptr<Connection>> open;  // touched on the io thread only

    ~State() {
        asio::post(io, [this] {
            boost::system::error_code ignored;
            acceptor.close(ignored);
            for (auto& [id, weak] : open) {
                if (auto c = weak.lock()) c->close();
            }
        });
        // The sessions end on their own once their sockets are closed; whatever still waits
        // after a grace period is dropped with the io_context.
        const auto deadline = Clock::now() + std::chrono::seconds(2);
        for (;;) {
            auto checked = std::make_shared<std::promise<bool>>();
            auto answer = checked->get_future();
            asio::post(io, [this, checked] { checked->set_value(open.empty()); });
            if (answer.wait_for(std::chrono::milliseconds(500)) != std::future_status::ready) {
                break;  // the loop is stuck: stop it below
            }
            if (answer.get() || Clock::now() >= deadline) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        io.stop();
        if (thread.joinable()) thread.join();
    }

    ProxyAction pick(const HttpMessage& request) {
        std::lock_guard lock(mutex);
        const std::string method = request.method();
        const std::string target = request.target();
        for (auto& rule : rules) {
            if (rule.times == 0) continue;
            if (!rule.method.empty() && rule.method != method) continue;
            if (!rule.target_contains.empty() &&
                target.find(rule.target_contains) == std::string::npos) {
                continue;
            }
            if (rule.times > 0) --rule.times;
            return rule.action;
        }
        return fallback;
    }

    std::size_t begin_exchange(std::uint64_t connection, const HttpMessage& request,
                               std::size_t request_bytes, ProxyAction::Kind kind) {
        std::lock_guard lock(mutex);
        ProxyExchange e;
        e.connection = connection;
        e.method = request.method();
        e.target = request.target();
        e.action = kind;
        e.request_bytes = request_bytes;
        e.started = Clock::now();
        log.push_back(std::move(e));
        return log.size() - 1;
    }

    void count_up(std::size_t exchange, std::size_t n) {
        std::lock_guard lock(mutex);
        log[exchange].upstream_bytes += n;
        up_total += n;
    }

    void finish(std::optional<std::size_t> exchange) {
        if (!exchange) return;
        std::lock_guard lock(mutex);
        log[*exchange].finished = true;
    }

    void count_down(std::size_t exchange, std::size_t n, int status) {
        std::lock_guard lock(mutex);
        log[exchange].downstream_bytes += n;
        if (status != 0) log[exchange].status = status;
        down_total += n;
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(tuple_awaitable);
            if (ec) {
                if (!acceptor.is_open()) co_return;
                continue;
            }
            auto connection = std::make_shared<Connection>(io, std::move(socket));
            std::uint64_t id = 0;
            {
                std::lock_guard lock(mutex);
                id = ++connections;
            }
            open[id] = connection;
            asio::co_spawn(io, session(id, connection), asio::detached);
        }
    }

    // Reads one message. A response to HEAD, and 1xx, 204 and 304 responses, have no body; a
    // response without a length runs to the end of the connection.
    static asio::awaitable<bool> read_message(tcp::socket& socket, std::string& buffer,
                                              Received& out, bool request,
                                              std::string_view request_method) {
        std::size_t end = std::string::npos;
        char chunk[64 * 1024];
        while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
            if (buffer.size() > max_head_bytes) co_return false;
            auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), tuple_awaitable);
            if (ec) co_return false;
            buffer.append(chunk, n);
        }
        out.head = buffer.substr(0, end + 4);
        buffer.erase(0, end + 4);
        out.message = parse_head(out.head);
        std::optional<std::size_t> length;
        bool to_eof = false;
        try {
            length = content_length(out.message);
        } catch (const std::exception&) {
            co_return false;
        }
        if (out.message.header("Transfer-Encoding")) co_return false;  // not needed here
        if (request) {
            if (!length) length = 0;
        } else {
            int status = out.message.status();
            if (request_method == "HEAD" || status / 100 == 1 || status == 204 || status == 304) {
                length = 0;
            } else if (!length) {
                to_eof = true;
            }
        }
        if (length && *length > max_body_bytes) co_return false;
        for (;;) {
            if (length && buffer.size() >= *length) break;
            if (to_eof && buffer.size() > max_body_bytes) co_return false;
            auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), tuple_awaitable);
            if (ec) {
                if (to_eof && ec == asio::error::eof) break;
                co_return false;
            }
            buffer.append(chunk, n);
        }
        std::size_t take = length ? *length : buffer.size();
        out.message.body = buffer.substr(0, take);
        buffer.erase(0, take);
        out.complete = true;
        co_return true;
    }

    asio::awaitable<bool> wait(Connection& c, std::chrono::milliseconds how_long) {
        c.timer.expires_after(how_long);
        auto [ec] = co_await c.timer.async_wait(tuple_awaitable);
        co_return !ec && c.client.is_open();
    }

    // Holds the client until it closes its end or the cap passes.
    asio::awaitable<void> stall(std::shared_ptr<Connection> c) {
        std::chrono::milliseconds cap;
        {
            std::lock_guard lock(mutex);
            cap = stall_cap;
        }
        c->timer.expires_after(cap);
        c->client.async_wait(tcp::socket::wait_read,
                             [c](const boost::system::error_code&) { c->timer.cancel(); });
        co_await c->timer.async_wait(tuple_awaitable);
    }

    asio::awaitable<bool> write(tcp::socket& socket, std::string_view bytes) {
        auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes), tuple_awaitable);
        co_return !ec;
    }

    asio::awaitable<void> session(std::uint64_t id, std::shared_ptr<Connection> c) {
        std::string from_client;
        std::string from_server;
        std::optional<std::size_t> current;  // the exchange under way
        for (int i = 0; i < max_exchanges_per_connection && c->client.is_open(); ++i) {
            finish(current);
            current.reset();
            Received request;
            if (!co_await read_message(c->client, from_client, request, true, {})) break;
            ProxyAction action = pick(request.message);
            using Kind = ProxyAction::Kind;
            if (action.kind == Kind::cut_request && request.message.body.size() <= action.bytes) {
                action.kind = Kind::forward;  // the link would have carried all of it
            }
            const std::string raw = request.raw();
            std::size_t ex = begin_exchange(id, request.message, raw.size(), action.kind);
            current = ex;
            if (action.delay.count() > 0 && !co_await wait(*c, action.delay)) break;

            if (action.kind == Kind::stall) {
                co_await stall(c);
                break;
            }
            if (action.kind == Kind::reply || action.kind == Kind::raw) {
                std::string bytes = action.body;
                int status = 0;
                if (action.kind == Kind::reply) {
                    HttpMessage reply;
                    reply.start_line = "HTTP/1.1 " + std::to_string(action.status) + " Fault";
                    reply.headers = action.headers;
                    reply.set_header("Connection", "close");
                    reply.body = action.body;
                    bytes = reply.serialize();
                    status = action.status;
                }
                if (co_await write(c->client, bytes)) count_down(ex, bytes.size(), status);
                break;
            }

            if (!c->upstream.is_open()) {
                std::uint16_t to = 0;
                {
                    std::lock_guard lock(mutex);
                    to = upstream;
                }
                if (to == 0) break;
                auto [ec] = co_await c->upstream.async_connect(
                    tcp::endpoint(asio::ip::address_v4::loopback(), to), tuple_awaitable);
                if (ec) break;
            }
            if (action.kind == Kind::cut_request) {
                std::size_t n =
                    request.head.size() + std::min(action.bytes, request.message.body.size());
                if (co_await write(c->upstream, std::string_view(raw).substr(0, n))) {
                    count_up(ex, n);
                }
                break;
            }
            if (!co_await write(c->upstream, raw)) break;
            count_up(ex, raw.size());

            Received response;
            if (!co_await read_message(c->upstream, from_server, response, false,
                                       request.message.method())) {
                break;
            }
            if (action.kind == Kind::stall_response) {
                co_await stall(c);
                break;
            }
            std::string out = response.raw();
            int status = response.message.status();
            bool close_after = false;
            if (action.kind == Kind::rewrite && action.rewrite) {
                HttpMessage changed = action.rewrite(request.message, response.message);
                status = changed.status();
                if (request.message.method() == "HEAD") {
                    // A HEAD reply's length names the body it does not carry: keep it as is.
                    std::string head = changed.start_line + "\r\n";
                    for (const auto& [name, value] : changed.headers) {
                        head += name + ": " + value + "\r\n";
                    }
                    out = head + "\r\n";
                } else {
                    out = changed.serialize();
                }
            } else if (action.kind == Kind::cut_response) {
                out.resize(std::min(out.size(), action.bytes));
                close_after = true;
            } else if (action.kind == Kind::truncate_body) {
                out.resize(std::min(out.size(), response.head.size() + action.bytes));
                close_after = true;
            }
            if (!co_await write(c->client, out)) break;
            count_down(ex, out.size(), status);
            auto connection = response.message.header("Connection");
            if (close_after || (connection && iequal(*connection, "close"))) break;
        }
        c->close();
        finish(current);
        open.erase(id);
    }
};

FaultProxy::FaultProxy(std::uint16_t upstream_port) : state_(std::make_unique<State>()) {
    State& s = *state_;
    s.upstream = upstream_port;
    tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
    s.acceptor.open(endpoint.protocol());
    s.acceptor.bind(endpoint);
    s.acceptor.listen();
    s.port = s.acceptor.local_endpoint().port();
    asio::co_spawn(s.io, s.accept_loop(), asio::detached);
    s.thread = std::thread([&s] { s.io.run(); });
}

FaultProxy::~FaultProxy() = default;

std::uint16_t FaultProxy::port() const { return state_->port; }

std::string FaultProxy::url() const { return "http://127.0.0.1:" + std::to_string(port()); }

void FaultProxy::set_upstream(std::uint16_t port) {
    std::lock_guard lock(state_->mutex);
    state_->upstream = port;
}

void FaultProxy::close_connections() {
    State* s = state_.get();
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    asio::post(s->io, [s, done] {
        for (auto& [id, weak] : s->open) {
            if (auto c = weak.lock()) c->close();
        }
        done->set_value();
    });
    finished.wait_for(std::chrono::seconds(5));
}

void FaultProxy::add_rule(ProxyRule rule) {
    std::lock_guard lock(state_->mutex);
    state_->rules.push_back(std::move(rule));
}

void FaultProxy::clear_rules() {
    std::lock_guard lock(state_->mutex);
    state_->rules.clear();
}

void FaultProxy::set_default(ProxyAction action) {
    std::lock_guard lock(state_->mutex);
    state_->fallback = std::move(action);
}

void FaultProxy::set_stall_cap(std::chrono::milliseconds cap) {
    std::lock_guard lock(state_->mutex);
    state_->stall_cap = cap;
}

std::vector<ProxyExchange> FaultProxy::exchanges() const {
    std::lock_guard lock(state_->mutex);
    return state_->log;
}

std::size_t FaultProxy::upstream_bytes() const {
    std::lock_guard lock(state_->mutex);
    return state_->up_total;
}

std::size_t FaultProxy::downstream_bytes() const {
    std::lock_guard lock(state_->mutex);
    return state_->down_total;
}

std::size_t FaultProxy::upstream_bytes_for(std::string_view target_contains) const {
    std::lock_guard lock(state_->mutex);
    std::size_t total = 0;
    for (const auto& e : state_->log) {
        if (e.target.find(target_contains) != std::string::npos) total += e.upstream_bytes;
    }
    return total;
}

std::size_t FaultProxy::count(ProxyAction::Kind kind, std::string_view target_contains) const {
    std::lock_guard lock(state_->mutex);
    std::size_t n = 0;
    for (const auto& e : state_->log) {
        if (e.action == kind && e.target.find(target_contains) != std::string::npos) ++n;
    }
    return n;
}

std::size_t FaultProxy::in_flight(std::string_view target_contains) const {
    std::lock_guard lock(state_->mutex);
    std::size_t n = 0;
    for (const auto& e : state_->log) {
        if (!e.finished && e.upstream_bytes > 0 && e.downstream_bytes == 0 &&
            e.target.find(target_contains) != std::string::npos) {
            ++n;
        }
    }
    return n;
}

std::size_t FaultProxy::rules_left() const {
    std::lock_guard lock(state_->mutex);
    std::size_t n = 0;
    for (const auto& r : state_->rules) {
        if (r.times != 0) ++n;
    }
    return n;
}

}  // namespace fieldlog::testing
