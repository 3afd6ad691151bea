#include "scripted_server.hpp"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <thread>

namespace fieldlog::sync::client::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Session : std::enable_shared_from_this<Session> {
    Session(tcp::socket socket, int id, const ScriptedServer::Handler& h)
        : stream(std::move(socket)), connection(id), handler(h) {}

    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    int connection;
    const ScriptedServer::Handler& handler;
    std::unique_ptr<http::request_parser<http::string_body>> parser;
    http::response<http::string_body> response;

    void read() {
        parser = std::make_unique<http::request_parser<http::string_body>>();
        parser->body_limit(64 * 1024 * 1024);
        // A HEAD reply has no body; Beast must not wait for one when it reads the next request.
        stream.expires_after(std::chrono::seconds(30));
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
            stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            stream.socket().close(ignored);
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

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec) return;
            int id = ++accepted;
            std::make_shared<Session>(std::move(socket), id, handler)->read();
            accept();
        });
    }
};

ScriptedServer::ScriptedServer(Handler handler)
    : impl_(std::make_unique<Impl>(std::move(handler))) {
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
    return "http://127.0.0.1:" + std::to_string(impl_->acceptor.local_endpoint().port());
}

int ScriptedServer::connections_accepted() const { return impl_->accepted.load(); }

}  // namespace fieldlog::sync::client::testing
