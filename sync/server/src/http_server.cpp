// The only translation unit that includes Boost.Beast and Asio: they dominate build time.
// Shaped after Beast's advanced server: a strand per connection, handlers that hold the
// connection alive, do_x/on_x pairs in protocol order, every input bounded first.
#include <sys/stat.h>

#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "api.hpp"
#include "fieldlog/files.hpp"
#include "fieldlog/server/server.hpp"
#include "fieldlog/server/sqlite_server_store.hpp"

namespace fieldlog::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace json = boost::json;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto tls_shutdown_timeout = std::chrono::seconds(5);
// After refusing a request whose body was not read, the rest is read and dropped for a while
// before closing: closing with unread data sends a reset, which can destroy the refusal before
// the client reads it.
constexpr auto drain_timeout = std::chrono::seconds(2);
constexpr std::size_t max_drain_bytes = std::size_t{16} * 1024 * 1024;
constexpr auto accept_retry_delay = std::chrono::milliseconds(200);
constexpr std::size_t max_logged_target = 512;
constexpr std::size_t max_admin_token_file_bytes = 4096;

std::string endpoint_text(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    std::string host = address.to_string();
    if (address.is_v6()) host = "[" + host + "]";
    return host + ":" + std::to_string(endpoint.port());
}

// The admin token is a secret like the device key: a file others can read is refused.
Result<Sha256> read_admin_token(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return errno_error(errno, "cannot read admin token", path);
    if ((st.st_mode & 077) != 0) {
        return Error(Errc::permission, "admin token file " + path.string() +
                                           " is readable by others; it must have mode 0600");
    }
    auto text = read_file(path, max_admin_token_file_bytes);
    if (!text) return text.error();
    std::string_view token = *text;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' ||
                              token.back() == '\t')) {
        token.remove_suffix(1);
    }
    if (token.size() < 16) {
        return Error(Errc::invalid_argument,
                     "admin token in " + path.string() + " is shorter than 16 characters");
    }
    for (char c : token) {
        if (c <= ' ' || c == 0x7f) {
            return Error(Errc::invalid_argument,
                         "admin token in " + path.string() +
                             " must be one line of printable characters without spaces");
        }
    }
    return sha256(token);
}

Status make_data_dir(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Error(Errc::io, "cannot create data_dir " + dir.string() + ": " + ec.message());
    return {};
}

}  // namespace

class ConnectionBase;

// Everything the server shares with its connections; Server::Impl only names it.
struct ServerCore {
    ServerCore(const ServerConfig& c, ServerOptions o)
        : config(c),
          options(std::move(o)),
          clock(options.clock != nullptr ? options.clock : &system_clock),
          ioc(static_cast<int>(c.threads)),
          control(net::make_strand(ioc)),
          acceptor(control),
          signals(control),
          shutdown_timer(control),
          accept_retry(control),
          sweep_timer(control),
          workers(c.threads) {}

    void log(json::object line) {
        line["time"] = format_utc_ms(clock->wall_ms());
        std::string text = json::serialize(line);
        std::lock_guard lock(log_mutex);
        if (options.log) {
            options.log(text);
        } else {
            text += "\n";
            std::fwrite(text.data(), 1, text.size(), stderr);
        }
    }
    void log_event(std::string_view level, std::string_view message) {
        log(json::object{{"level", level}, {"message", message}});
    }

    void do_accept();
    void on_accept(error_code ec, tcp::socket socket);
    // Abandoned partial uploads: swept on a worker (it blocks on the disk and the store), then
    // the timer is armed for the next sweep, unless the server is stopping.
    void schedule_sweep(std::chrono::steady_clock::duration delay);
    std::size_t sweep_partial_uploads();
    void begin_stop();
    void add(ConnectionBase* key, std::weak_ptr<ConnectionBase> connection);
    void remove(ConnectionBase* key);
    std::vector<std::shared_ptr<ConnectionBase>> live_connections();

    ServerConfig config;
    ServerOptions options;
    SystemClock system_clock;
    const Clock* clock;
    std::unique_ptr<ServerStore> store;
    std::unique_ptr<Api> api;
    std::optional<ssl::context> tls;
    std::uint16_t port = 0;

    // Declared before the io_context: handlers it destroys unrun end connections, which
    // unregister themselves here.
    std::atomic<bool> stopping{false};
    std::atomic<bool> destroying{false};
    std::mutex connections_mutex;
    std::unordered_map<ConnectionBase*, std::weak_ptr<ConnectionBase>> connections;
    std::mutex log_mutex;

    net::io_context ioc;
    // The acceptor, signals and timers are only touched on this strand.
    net::strand<net::io_context::executor_type> control;
    tcp::acceptor acceptor;
    net::signal_set signals;
    net::steady_timer shutdown_timer;
    net::steady_timer accept_retry;
    net::steady_timer sweep_timer;
    // Requests run here: the store blocks on fsync, and the I/O threads must never wait.
    net::thread_pool workers;
};

class ConnectionBase : public std::enable_shared_from_this<ConnectionBase> {
public:
    virtual ~ConnectionBase() = default;
    // Both run on the connection's strand.
    virtual void on_stop() = 0;
    virtual void on_force_close() = 0;
    virtual net::any_io_executor executor() = 0;
};

template <bool Tls>
class Connection final : public ConnectionBase {
public:
    using Stream = std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

    Connection(ServerCore& server, tcp::socket&& socket, std::string peer)
        : server_(server),
          stream_(make_stream(std::move(socket), server)),
          peer_(std::move(peer)) {}

    ~Connection() override { server_.remove(this); }

    void run() {
        net::dispatch(stream_.get_executor(), [self = shared()] { self->start(); });
    }

    net::any_io_executor executor() override { return stream_.get_executor(); }

    void on_stop() override {
        closing_ = true;
        // An idle keep-alive connection has nothing in flight: close it now. One that has
        // begun a request gets its answer first and is closed after.
        if (state_ == State::handshake || (state_ == State::idle && buffer_.size() == 0)) {
            beast::get_lowest_layer(stream_).cancel();
        }
    }

    void on_force_close() override {
        closing_ = true;
        beast::get_lowest_layer(stream_).close();
    }

private:
    enum class State { handshake, idle, reading, processing, writing, closed };

    static Stream make_stream(tcp::socket&& socket, ServerCore& server) {
        if constexpr (Tls) {
            return Stream(std::move(socket), *server.tls);
        } else {
            return Stream(std::move(socket));
        }
    }

    std::shared_ptr<Connection> shared() {
        return std::static_pointer_cast<Connection>(shared_from_this());
    }

    beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

    void start() {
        if constexpr (Tls) {
            state_ = State::handshake;
            lowest().expires_after(server_.config.request_timeout);
            stream_.async_handshake(ssl::stream_base::server,
                                    [self = shared()](error_code ec) { self->on_handshake(ec); });
        } else {
            do_read();
        }
    }

    void on_handshake(error_code ec) {
        if (ec) {
            if (ec != net::error::operation_aborted) {
                server_.log(json::object{{"level", "info"},
                                         {"peer", peer_},
                                         {"message", "TLS handshake failed: " + ec.message()}});
            }
            return do_close(false);
        }
        do_read();
    }

    void do_read() {
        if (closing_ || server_.stopping) return do_close(true);
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(server_.config.max_header_bytes));
        parser_->body_limit(server_.config.max_body_bytes);
        state_ = State::idle;
        method_.clear();
        target_.clear();
        lowest().expires_after(server_.config.request_timeout);
        http::async_read_header(
            stream_, buffer_, *parser_,
            [self = shared()](error_code ec, std::size_t) { self->on_header(ec); });
    }

    // Refusals found while reading: the rest of the request is not read, so the connection
    // cannot be reused.
    bool refused_while_reading(error_code ec) {
        if (ec == http::error::header_limit) {
            reply_and_close(431, "header_too_large",
                            "the request header exceeds " +
                                std::to_string(server_.config.max_header_bytes) + " bytes");
            return true;
        }
        if (ec == http::error::body_limit) {
            reply_and_close(413, "too_large",
                            "the request body exceeds the limit for this resource");
            return true;
        }
        if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
            ec != http::error::end_of_stream && ec != http::error::partial_message) {
            reply_and_close(400, "bad_request", "malformed HTTP request: " + ec.message());
            return true;
        }
        return false;
    }

    void on_header(error_code ec) {
        if (ec) {
            if (refused_while_reading(ec)) return;
            return do_close(ec != beast::error::timeout && ec != net::error::operation_aborted);
        }
        started_ = std::chrono::steady_clock::now();
        state_ = State::reading;
        auto& request = parser_->get();
        method_ = std::string(request.method_string());
        target_ = std::string(request.target());
        std::size_t limit = server_.api->body_limit(method_, target_);
        if (auto length = parser_->content_length(); length && *length > limit) {
            return reply_and_close(413, "too_large",
                                   "the request body of " + std::to_string(*length) +
                                       " bytes exceeds the " + std::to_string(limit) +
                                       " bytes allowed for this resource");
        }
        parser_->body_limit(limit);
        if (parser_->is_done()) return on_read(error_code{});
        if (beast::iequals(request[http::field::expect], "100-continue")) {
            continue_ =
                http::response<http::empty_body>(http::status::continue_, request.version());
            http::async_write(stream_, continue_, [self = shared()](error_code wec, std::size_t) {
                if (wec) return self->do_close(false);
                self->do_read_body();
            });
            return;
        }
        do_read_body();
    }

    void do_read_body() {
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared()](error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(error_code ec) {
        if (ec) {
            if (refused_while_reading(ec)) return;
            return do_close(false);
        }
        auto& message = parser_->get();
        keep_alive_ = message.keep_alive();
        version_ = message.version();
        HttpRequest request;
        request.method = method_;
        request.target = target_;
        for (const auto& field : message) {
            request.headers.emplace_back(std::string(field.name_string()),
                                         std::string(field.value()));
        }
        request.body = std::move(message.body());
        parser_.reset();
        state_ = State::processing;
        net::post(server_.workers, [self = shared(), request = std::move(request),
                                    work = net::make_work_guard(stream_.get_executor())]() {
            HttpResponse response = self->server_.api->handle(request);
            net::post(self->stream_.get_executor(),
                      [self, response = std::move(response)]() mutable {
                          self->do_write(std::move(response));
                      });
        });
    }

    void reply_and_close(int status, std::string_view code, const std::string& message) {
        if (started_ == std::chrono::steady_clock::time_point{}) {
            started_ = std::chrono::steady_clock::now();
        }
        keep_alive_ = false;
        drain_after_write_ = true;
        version_ = 11;
        do_write(error_response(status, code, message));
    }

    void do_drain() {
        state_ = State::closed;
        error_code ignored;
        lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
        lowest().expires_after(drain_timeout);
        do_drain_read();
    }

    void do_drain_read() {
        lowest().async_read_some(
            net::buffer(drain_buffer_),
            [self = shared()](error_code ec, std::size_t n) { self->on_drain(ec, n); });
    }

    void on_drain(error_code ec, std::size_t n) {
        drained_ += n;
        if (ec || drained_ > max_drain_bytes || closing_) {
            lowest().close();
            return;
        }
        do_drain_read();
    }

    template <class Body>
    void prepare(http::response<Body>& res, const HttpResponse& response, bool keep) {
        res.result(static_cast<unsigned>(response.status));
        res.version(version_);
        res.set(http::field::server, "fieldlog-server");
        if (!response.content_type.empty() && (response.file || !response.body.empty())) {
            res.set(http::field::content_type, response.content_type);
        }
        for (const auto& [name, value] : response.headers) res.set(name, value);
        res.keep_alive(keep);
        res.prepare_payload();
    }

    void do_write(HttpResponse response) {
        state_ = State::writing;
        bool keep = keep_alive_ && !closing_ && !server_.stopping;
        status_ = response.status;
        device_id_ = response.device_id;
        note_ = response.note;
        auto on_written = [self = shared(), keep](error_code ec, std::size_t bytes) {
            self->on_write(keep, ec, bytes);
        };
        if (response.file) {
            http::response<http::file_body> res;
            error_code ec;
            res.body().open(response.file->c_str(), beast::file_mode::scan, ec);
            if (!ec) {
                prepare(res, response, keep);
                beast::async_write(stream_, http::message_generator(std::move(res)),
                                   std::move(on_written));
                return;
            }
            note_ = "cannot open " + response.file->string() + ": " + ec.message();
            response = error_response(500, "internal", "the blob file cannot be read");
            status_ = response.status;
        }
        http::response<http::string_body> res;
        res.body() = std::move(response.body);
        prepare(res, response, keep);
        beast::async_write(stream_, http::message_generator(std::move(res)), std::move(on_written));
    }

    void on_write(bool keep, error_code ec, std::size_t bytes) {
        log_access(bytes, ec);
        started_ = {};
        if (ec) return do_close(false);
        if (drain_after_write_) return do_drain();
        if (!keep) return do_close(true);
        do_read();
    }

    void log_access(std::size_t bytes, error_code ec) {
        auto elapsed = std::chrono::steady_clock::now() - started_;
        double duration_ms =
            static_cast<double>(
                std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()) /
            1000.0;
        json::object line{
            {"peer", peer_},
            {"method", method_},
            {"target",
             target_.size() > max_logged_target ? target_.substr(0, max_logged_target) : target_},
            {"status", status_},
            {"bytes", bytes},
            {"duration_ms", duration_ms},
            {"device_id", device_id_.empty() ? json::value() : json::value(device_id_)}};
        if (!note_.empty()) line["error"] = note_;
        if (ec) line["write_error"] = ec.message();
        server_.log(std::move(line));
    }

    void do_close(bool graceful) {
        if (state_ == State::closed) return;
        state_ = State::closed;
        if constexpr (Tls) {
            if (graceful) {
                lowest().expires_after(tls_shutdown_timeout);
                stream_.async_shutdown([self = shared()](error_code) { self->lowest().close(); });
                return;
            }
            lowest().close();
        } else {
            error_code ignored;
            lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
            lowest().close();
        }
    }

    ServerCore& server_;
    Stream stream_;
    std::string peer_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::empty_body> continue_;
    State state_ = State::idle;
    bool closing_ = false;
    bool keep_alive_ = false;
    bool drain_after_write_ = false;
    std::size_t drained_ = 0;
    std::array<char, 16384> drain_buffer_{};
    unsigned version_ = 11;
    std::string method_;
    std::string target_;
    int status_ = 0;
    std::string device_id_;
    std::string note_;
    std::chrono::steady_clock::time_point started_{};
};

void ServerCore::add(ConnectionBase* key, std::weak_ptr<ConnectionBase> connection) {
    std::lock_guard lock(connections_mutex);
    connections.emplace(key, std::move(connection));
}

void ServerCore::remove(ConnectionBase* key) {
    bool last = false;
    {
        std::lock_guard lock(connections_mutex);
        connections.erase(key);
        last = connections.empty();
    }
    if (last && stopping && !destroying) {
        net::post(control, [this] { shutdown_timer.cancel(); });
    }
}

std::vector<std::shared_ptr<ConnectionBase>> ServerCore::live_connections() {
    std::vector<std::shared_ptr<ConnectionBase>> out;
    std::lock_guard lock(connections_mutex);
    for (auto& [key, weak] : connections) {
        if (auto c = weak.lock()) out.push_back(std::move(c));
    }
    return out;
}

void ServerCore::do_accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](error_code ec, tcp::socket socket) {
        on_accept(ec, std::move(socket));
    });
}

void ServerCore::on_accept(error_code ec, tcp::socket socket) {
    if (stopping || !acceptor.is_open()) return;
    if (ec) {
        // Out of descriptors, for example: wait a moment instead of spinning on the error.
        log_event("warning", "accept failed: " + ec.message());
        accept_retry.expires_after(accept_retry_delay);
        accept_retry.async_wait([this](error_code wait_ec) {
            if (!wait_ec && !stopping) do_accept();
        });
        return;
    }
    error_code peer_ec;
    auto remote = socket.remote_endpoint(peer_ec);
    std::string peer = peer_ec ? std::string("unknown") : endpoint_text(remote);
    std::size_t open = 0;
    {
        std::lock_guard lock(connections_mutex);
        open = connections.size();
    }
    if (open >= config.max_connections) {
        log(json::object{{"level", "warning"},
                         {"peer", peer},
                         {"message", "connection refused: max_connections (" +
                                         std::to_string(config.max_connections) + ") reached"}});
        error_code ignored;
        socket.close(ignored);
    } else if (tls) {
        auto c = std::make_shared<Connection<true>>(*this, std::move(socket), std::move(peer));
        add(c.get(), c);
        c->run();
    } else {
        auto c = std::make_shared<Connection<false>>(*this, std::move(socket), std::move(peer));
        add(c.get(), c);
        c->run();
    }
    do_accept();
}

void ServerCore::schedule_sweep(std::chrono::steady_clock::duration delay) {
    sweep_timer.expires_after(delay);
    sweep_timer.async_wait([this](error_code ec) {
        if (ec || stopping) return;
        // The guard keeps run() from returning while a sweep is under way.
        net::post(workers, [this, guard = net::make_work_guard(ioc)] {
            sweep_partial_uploads();
            net::post(control, [this] {
                if (!stopping) schedule_sweep(config.partial_sweep_interval);
            });
        });
    });
}

std::size_t ServerCore::sweep_partial_uploads() {
    const SweepReport report = api->sweep_partial_uploads(config.partial_upload_max_age);
    for (const RemovedUpload& r : report.removed) {
        log(json::object{{"level", "info"},
                         {"event", "partial_upload_removed"},
                         {"sha256", r.sha256},
                         {"bytes", r.bytes},
                         {"upload_length", r.declared_size},
                         {"last_activity", format_utc_ms(r.last_activity_ms)},
                         {"message", "removed an upload abandoned for longer than " +
                                         std::to_string(config.partial_upload_max_age.count()) +
                                         " s (uploads.partial_max_age_s)"}});
    }
    for (const Error& e : report.failures) {
        log(json::object{{"level", "warning"},
                         {"event", "partial_upload_sweep_failed"},
                         {"message", e.message()}});
    }
    return report.removed.size();
}

void ServerCore::begin_stop() {
    if (stopping.exchange(true)) return;
    log_event("info", "stopping: no new connections; finishing requests in flight");
    error_code ignored;
    acceptor.close(ignored);
    signals.cancel(ignored);
    accept_retry.cancel();
    sweep_timer.cancel();
    auto live = live_connections();
    if (live.empty()) return;
    for (auto& c : live) {
        net::post(c->executor(), [c] { c->on_stop(); });
    }
    // A client that never finishes its request must not hold the stop forever.
    shutdown_timer.expires_after(config.request_timeout);
    shutdown_timer.async_wait([this](error_code ec) {
        if (ec) return;
        for (auto& c : live_connections()) {
            net::post(c->executor(), [c] { c->on_force_close(); });
        }
    });
}

struct Server::Impl : ServerCore {
    using ServerCore::ServerCore;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
    if (impl_) {
        impl_->workers.join();
        impl_->destroying = true;
    }
}

std::uint16_t Server::port() const { return impl_->port; }

Result<std::unique_ptr<Server>> Server::create(const ServerConfig& config, ServerOptions options) {
    auto impl = std::make_unique<Impl>(config, std::move(options));
    auto admin = read_admin_token(config.admin_token_file);
    if (!admin) return admin.error();
    if (auto made = make_data_dir(config.data_dir); !made) return made.error();
    auto store = open_sqlite_server_store(config.data_dir / "server.db");
    if (!store) return store.error();
    auto blobs = BlobArea::open(config.data_dir / "blobs");
    if (!blobs) return blobs.error();
    impl->store = std::move(*store);
    impl->api =
        std::make_unique<Api>(*impl->store, std::move(*blobs), impl->config, *admin, *impl->clock);

    try {
        if (config.tls) {
            impl->tls.emplace(ssl::context::tls_server);
            impl->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                   ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
            impl->tls->use_certificate_chain_file(config.tls->certificate.string());
            impl->tls->use_private_key_file(config.tls->private_key.string(), ssl::context::pem);
            if (config.tls->client_ca) {
                impl->tls->load_verify_file(config.tls->client_ca->string());
                impl->tls->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
            }
        }
    } catch (const boost::system::system_error& e) {
        return Error(Errc::invalid_argument,
                     "TLS: cannot load " + config.tls->certificate.string() + ", " +
                         config.tls->private_key.string() +
                         (config.tls->client_ca ? " or " + config.tls->client_ca->string() : "") +
                         ": " + e.code().message());
    }

    error_code ec;
    auto address = net::ip::make_address(config.listen_host, ec);
    if (ec) return Error(Errc::invalid_argument, "listen: bad address " + config.listen_host);
    tcp::endpoint endpoint(address, config.listen_port);
    auto& acceptor = impl->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        return Error(ec == net::error::address_in_use ? Errc::conflict : Errc::unavailable,
                     "cannot listen on " + endpoint_text(endpoint) + ": " + ec.message());
    }
    impl->port = acceptor.local_endpoint().port();

    if (impl->options.handle_signals) {
        impl->signals.add(SIGINT);
        impl->signals.add(SIGTERM);
    }
    std::string where = endpoint_text(tcp::endpoint(address, impl->port));
    impl->log_event("info", "listening on " + where + (config.tls ? " (HTTPS)" : " (HTTP)"));
    if (!config.tls) {
        impl->log_event("warning",
                        "no [tls] section: serving plain HTTP, which exposes device tokens on the "
                        "network; use it only on loopback or in a lab");
    }
    return std::unique_ptr<Server>(new Server(std::move(impl)));
}

void Server::run() {
    Impl& impl = *impl_;
    net::dispatch(impl.control, [&impl] {
        if (impl.stopping) return;
        impl.do_accept();
        // A server down longer than the age finds its abandoned uploads at once.
        impl.schedule_sweep(std::chrono::steady_clock::duration::zero());
        if (impl.options.handle_signals) {
            impl.signals.async_wait([&impl](error_code ec, int signal) {
                if (ec) return;
                impl.log_event(
                    "info", std::string("received ") + (signal == SIGTERM ? "SIGTERM" : "SIGINT"));
                impl.begin_stop();
            });
        }
    });
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < impl.config.threads; ++i) {
        threads.emplace_back([&impl] { impl.ioc.run(); });
    }
    impl.ioc.run();
    for (auto& t : threads) t.join();
    impl.log_event("info", "stopped");
}

std::size_t Server::sweep_partial_uploads() { return impl_->sweep_partial_uploads(); }

void Server::stop() {
    Impl& impl = *impl_;
    net::post(impl.control, [&impl] { impl.begin_stop(); });
}

}  // namespace fieldlog::server
