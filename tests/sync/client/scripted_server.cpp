#include "scripted_server.hpp"

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <thread>

namespace fieldlog::sync::client::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

template <class Stream>
struct Session : std::enable_shared_from_this<Session<Stream>> {
    template <class... StreamArgs>
    Session(int id, const ScriptedServer::Handler& h, StreamArgs&&... args)
        : stream(std::forward<StreamArgs>(args)...), connection(id), handler(h) {}

    Stream stream;
    beast::flat_buffer buffer;
    int connection;
    const ScriptedServer::Handler& handler;
    std::unique_ptr<http::request_parser<http::string_body>> parser;
    std::array<char, 4096> discard;
    http::response<http::string_body> response;

    using std::enable_shared_from_this<Session>::shared_from_this;

    void handshake() {
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
        stream.async_handshake(ssl::stream_base::server,
                               [self = shared_from_this()](beast::error_code ec) {
                                   if (ec) {
                                       self->linger();
                                       return;
                                   }
                                   self->read();
                               });
    }

    // After a refused handshake OpenSSL has sent the client its alert. Closing now, with the
    // client's request unread, would answer it with a reset that can overtake the alert, and
    // the client would see only a broken pipe; so the connection is held until the client
    // closes it (or the expiry), and the client reads the alert.
    void linger() {
        beast::get_lowest_layer(stream).async_read_some(
            asio::buffer(discard), [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (!ec) self->linger();
            });
    }

    void read() {
        parser = std::make_unique<http::request_parser<http::string_body>>();
        parser->body_limit(64 * 1024 * 1024);
        // A HEAD reply has no body; Beast must not wait for one when it reads the next request.
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
        http::async_read(stream, buffer, *parser,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (ec) return;
                             self->answer();
                         });
    }

    void answer() {
        const auto& message = parser->get();
        ServerRequest request;
        request.method = std::string(message.method_string());
        request.target = std::string(message.target());
        for (const auto& field : message) {
            std::string name(field.name_string());
            for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            request.headers[name] = std::string(field.value());
        }
        request.body = message.body();
        request.connection = connection;
        request.received = std::chrono::steady_clock::now();
        ServerResponse scripted = handler(request);
        if (scripted.cut) {
            beast::error_code ignored;
            beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
            beast::get_lowest_layer(stream).socket().close(ignored);
            return;
        }
        response = {};
        response.version(11);
        response.result(static_cast<unsigned>(scripted.status));
        response.keep_alive(message.keep_alive());
        for (const auto& [name, value] : scripted.headers) response.set(name, value);
        bool head = request.method == "HEAD";
        if (!head) {
            response.body() = std::move(scripted.body);
            response.prepare_payload();
        } else {
            response.content_length(0);
        }
        // Serialising a HEAD reply must not send the (empty) body either.
        auto serializer = std::make_shared<http::response_serializer<http::string_body>>(response);
        if (head) serializer->split(true);
        auto self = shared_from_this();
        if (head) {
            http::async_write_header(stream, *serializer,
                                     [self, serializer](beast::error_code ec, std::size_t) {
                                         if (ec) return;
                                         self->read();
                                     });
        } else {
            http::async_write(stream, *serializer,
                              [self, serializer](beast::error_code ec, std::size_t) {
                                  if (ec || !self->response.keep_alive()) return;
                                  self->read();
                              });
        }
    }
};

}  // namespace

struct ScriptedServer::Impl {
    explicit Impl(Handler h) : handler(std::move(h)), acceptor(io) {}

    Handler handler;
    asio::io_context io{1};
    tcp::acceptor acceptor;
    std::atomic<int> accepted{0};
    std::thread thread;
    std::optional<ssl::context> tls;
    std::atomic<bool> refuse_clients{false};

    void use_tls(const ServerTls& settings) {
        tls.emplace(ssl::context::tls_server);
        tls->use_certificate_chain_file(settings.cert.string());
        tls->use_private_key_file(settings.key.string(), ssl::context::pem);
        if (!settings.client_ca.empty()) {
            tls->load_verify_file(settings.client_ca.string());
            tls->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
            tls->set_verify_callback([this](bool preverified, ssl::verify_context&) {
                return preverified && !refuse_clients.load();
            });
        }
    }

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec) return;
            int id = ++accepted;
            if (tls) {
                std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
                    id, handler, std::move(socket), *tls)
                    ->handshake();
            } else {
                std::make_shared<Session<beast::tcp_stream>>(id, handler, std::move(socket))
                    ->read();
            }
            accept();
        });
    }
};

ScriptedServer::ScriptedServer(Handler handler, std::optional<ServerTls> tls)
    : impl_(std::make_unique<Impl>(std::move(handler))) {
    if (tls) impl_->use_tls(*tls);
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen();
    impl_->accept();
    impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

ScriptedServer::~ScriptedServer() {
    impl_->io.stop();
    impl_->thread.join();
}

std::string ScriptedServer::url() const {
    return std::string(impl_->tls ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(impl_->acceptor.local_endpoint().port());
}

int ScriptedServer::connections_accepted() const { return impl_->accepted.load(); }

void ScriptedServer::refuse_client_certificates(bool refuse) { impl_->refuse_clients = refuse; }

std::string closed_port_url() {
    // Bound, then closed again: the port was free a moment ago and nothing listens on it now.
    asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    auto port = probe.local_endpoint().port();
    probe.close();
    return "http://127.0.0.1:" + std::to_string(port);
}

}  // namespace fieldlog::sync::client::testing
