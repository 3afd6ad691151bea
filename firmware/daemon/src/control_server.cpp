#include "control_server.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <deque>
#include <iostream>
#include <set>

namespace fieldlog::daemon {

namespace asio = boost::asio;
namespace json = boost::json;
using local = asio::local::stream_protocol;

namespace {

std::string reply_line(const json::value& id, const Result<json::value>& result) {
    json::object out;
    out["id"] = id;
    if (result) {
        out["ok"] = true;
        out["result"] = *result;
    } else {
        out["ok"] = false;
        out["error"] = json::object{{"code", errc_name(result.error().code())},
                                    {"message", result.error().message()}};
    }
    std::string line = json::serialize(out);
    line.push_back('\n');
    return line;
}

}  // namespace

struct ControlServer::Impl : std::enable_shared_from_this<ControlServer::Impl> {
    asio::io_context& io;
    ControlLimits limits;
    Handler handler;
    local::acceptor acceptor;
    std::filesystem::path path;
    struct Session;
    std::set<std::shared_ptr<Session>> sessions;
    bool stopped = false;

    Impl(asio::io_context& context, ControlLimits l, Handler h)
        : io(context), limits(l), handler(std::move(h)), acceptor(context) {}

    struct Session : std::enable_shared_from_this<Session> {
        std::weak_ptr<Impl> server;
        local::socket socket;
        asio::streambuf buffer;
        asio::steady_timer idle;

        Session(std::weak_ptr<Impl> s, local::socket sock, std::size_t max_bytes)
            : server(std::move(s)),
              socket(std::move(sock)),
              buffer(max_bytes),
              idle(socket.get_executor()) {}

        void read_next() {
            // The timer runs only while a request is awaited, not while one is being served.
            if (auto impl = server.lock()) {
                idle.expires_after(impl->limits.idle_timeout);
                idle.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
                    auto self = weak.lock();
                    if (!ec && self) {
                        boost::system::error_code ignored;
                        self->socket.close(ignored);  // the pending read then finishes it
                    }
                });
            }
            asio::async_read_until(
                socket, buffer, '\n',
                [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                    self->on_read(ec, n);
                });
        }

        void on_read(boost::system::error_code ec, std::size_t n) {
            idle.cancel();
            if (ec == asio::error::not_found) {
                // The line outgrew the buffer: the request is oversize. Say so, then close,
                // since the rest of that line cannot be told apart from a next request.
                auto impl = server.lock();
                std::size_t max = impl ? impl->limits.max_request_bytes : 0;
                write_and_close(reply_line(
                    nullptr,
                    Error(Errc::too_large, "request is longer than " + std::to_string(max) +
                                               " bytes (control.max_request_bytes)")));
                return;
            }
            if (ec) {
                finish();
                return;
            }
            std::string line(asio::buffers_begin(buffer.data()),
                             asio::buffers_begin(buffer.data()) + static_cast<std::ptrdiff_t>(n));
            buffer.consume(n);
            handle_line(line);
        }

        void handle_line(const std::string& line) {
            if (line.find_first_not_of(" \t\r\n") == std::string::npos) {
                read_next();
                return;
            }
            boost::system::error_code ec;
            json::value request = json::parse(line, ec);
            if (ec) {
                write_reply(reply_line(
                    nullptr,
                    Error(Errc::invalid_argument, "request is not valid JSON: " + ec.message())));
                return;
            }
            if (!request.is_object()) {
                write_reply(reply_line(
                    nullptr, Error(Errc::invalid_argument, "request must be a JSON object")));
                return;
            }
            const json::object& obj = request.get_object();
            json::value id = obj.contains("id") ? obj.at("id") : json::value(nullptr);
            for (const auto& member : obj) {
                if (member.key() != "id" && member.key() != "op" && member.key() != "args") {
                    write_reply(
                        reply_line(id, Error(Errc::invalid_argument,
                                             "unknown request field '" + std::string(member.key()) +
                                                 "' (a request has id, op and args)")));
                    return;
                }
            }
            const json::value* op = obj.if_contains("op");
            if (op == nullptr || !op->is_string() || op->get_string().empty()) {
                write_reply(reply_line(
                    id, Error(Errc::invalid_argument, "request needs \"op\": a non-empty string")));
                return;
            }
            json::object args;
            if (const json::value* a = obj.if_contains("args"); a != nullptr && !a->is_null()) {
                if (!a->is_object()) {
                    write_reply(reply_line(
                        id, Error(Errc::invalid_argument, "\"args\" must be a JSON object")));
                    return;
                }
                args = a->get_object();
            }
            auto impl = server.lock();
            if (!impl) {
                finish();
                return;
            }
            // The handler may answer from the store thread: hop back onto the loop to write, and
            // serialise the reply there, since the store thread is the daemon's bottleneck.
            auto self = shared_from_this();
            impl->handler(std::string(op->get_string()), args,
                          [self, id, &io = impl->io](Result<json::value> result) {
                              asio::post(io, [self, id, result = std::move(result)] {
                                  self->write_reply(reply_line(id, result));
                              });
                          });
        }

        void write_reply(std::string line) {
            auto data = std::make_shared<std::string>(std::move(line));
            asio::async_write(
                socket, asio::buffer(*data),
                [self = shared_from_this(), data](boost::system::error_code ec, std::size_t) {
                    if (ec) {
                        self->finish();
                        return;
                    }
                    self->read_next();
                });
        }

        void write_and_close(std::string line) {
            auto data = std::make_shared<std::string>(std::move(line));
            asio::async_write(socket, asio::buffer(*data),
                              [self = shared_from_this(), data](boost::system::error_code,
                                                                std::size_t) { self->finish(); });
        }

        void finish() {
            boost::system::error_code ignored;
            idle.cancel();
            socket.close(ignored);
            if (auto impl = server.lock()) {
                impl->sessions.erase(shared_from_this());
            }
        }
    };

    void accept_next() {
        acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec,
                                                          local::socket socket) {
            if (self->stopped) {
                return;
            }
            if (ec) {
                // EMFILE and similar pass; the next accept may succeed once clients leave.
                self->accept_next();
                return;
            }
            auto session =
                std::make_shared<Session>(self, std::move(socket), self->limits.max_request_bytes);
            if (self->sessions.size() >= self->limits.max_clients) {
                session->write_and_close(reply_line(
                    nullptr,
                    Error(Errc::unavailable, "too many clients (control.max_clients = " +
                                                 std::to_string(self->limits.max_clients) + ")")));
                self->sessions.insert(session);
            } else {
                self->sessions.insert(session);
                session->read_next();
            }
            self->accept_next();
        });
    }
};

ControlServer::ControlServer(asio::io_context& io, ControlLimits limits, Handler handler)
    : impl_(std::make_shared<Impl>(io, limits, std::move(handler))) {}

ControlServer::~ControlServer() { stop(); }

Status ControlServer::listen(const std::filesystem::path& path) {
    boost::system::error_code ec;
    std::error_code status_ec;
    const auto existing = std::filesystem::symlink_status(path, status_ec);
    if (std::filesystem::exists(existing)) {
        // Only a socket left by a daemon that died is ours to replace: a control.socket that
        // names anything else (a typo naming the database) must not cost that file.
        if (existing.type() != std::filesystem::file_type::socket) {
            return Error(Errc::conflict, path.string() +
                                             " exists and is not a socket (control.socket); "
                                             "refusing to replace it");
        }
        local::socket probe(impl_->io);
        probe.connect(local::endpoint(path.string()), ec);
        if (!ec) {
            return Error(Errc::conflict, "another fieldlogd is already serving " + path.string());
        }
        std::filesystem::remove(path, ec);
    }
    if (path.has_parent_path()) {
        std::filesystem::create_directories(path.parent_path(), ec);
    }
    impl_->acceptor.open(local(), ec);
    if (!ec) impl_->acceptor.bind(local::endpoint(path.string()), ec);
    if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        return Error(Errc::io, "cannot listen on " + path.string() + ": " + ec.message());
    }
    ::chmod(path.c_str(), 0660);
    impl_->path = path;
    impl_->accept_next();
    return {};
}

void ControlServer::stop() {
    if (impl_->stopped) {
        return;
    }
    impl_->stopped = true;
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    for (const auto& session : std::set(impl_->sessions)) {
        session->socket.close(ec);
    }
    impl_->sessions.clear();
    if (!impl_->path.empty()) {
        std::filesystem::remove(impl_->path, ec);
    }
}

std::size_t ControlServer::client_count() const { return impl_->sessions.size(); }

}  // namespace fieldlog::daemon
