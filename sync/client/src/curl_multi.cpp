#include "curl_multi.hpp"

#include <boost/asio/post.hpp>
#include <chrono>
#include <mutex>
#include <stdexcept>

namespace fieldlog::sync::client::detail {

namespace asio = boost::asio;

CurlMulti::CurlMulti(asio::io_context& io) : io_(io), timer_(io) {
    multi_.reset(curl().multi_init());
    if (!multi_) throw std::runtime_error("curl_multi_init failed");
    curl().multi_setopt(multi_.get(), CURLMOPT_SOCKETFUNCTION, &CurlMulti::on_socket);
    curl().multi_setopt(multi_.get(), CURLMOPT_SOCKETDATA, this);
    curl().multi_setopt(multi_.get(), CURLMOPT_TIMERFUNCTION, &CurlMulti::on_timer);
    curl().multi_setopt(multi_.get(), CURLMOPT_TIMERDATA, this);
    // One server: a few kept connections are plenty, and bound the fds curl may hold.
    curl().multi_setopt(multi_.get(), CURLMOPT_MAXCONNECTS, 4L);
}

CurlMulti::~CurlMulti() {
    alive_.reset();
    timer_.cancel();
    cancel_all();
    // Cleanup closes the kept connections and reports each as CURL_POLL_REMOVE to on_socket,
    // which still works here; anything left afterwards is released, not closed: curl closed it.
    multi_.reset();
    for (auto& [fd, socket] : sockets_) {
        socket->removed = true;
        socket->descriptor.release();
    }
    sockets_.clear();
}

Status CurlMulti::add(std::unique_ptr<CurlTransfer> transfer) {
    CurlTransfer* raw = transfer.get();
    curl().easy_setopt(raw->easy(), CURLOPT_PRIVATE, raw);
    transfers_.emplace(raw, std::move(transfer));
    // May call on_timer (never on_socket) before it returns; on_timer only arms the timer.
    CURLMcode rc = curl().multi_add_handle(multi_.get(), raw->easy());
    if (rc != CURLM_OK) {
        transfers_.erase(raw);
        return Error(Errc::internal,
                     std::string("curl_multi_add_handle: ") + curl().multi_strerror(rc));
    }
    return {};
}

void CurlMulti::cancel_all() {
    // curl_multi_remove_handle may report sockets removed (on_socket), which touches sockets_
    // only, never transfers_.
    auto transfers = std::move(transfers_);
    transfers_.clear();
    for (auto& [raw, transfer] : transfers) {
        curl().multi_remove_handle(multi_.get(), raw->easy());
    }
}

int CurlMulti::on_socket(CURL*, curl_socket_t s, int what, void* userp, void* socketp) {
    auto* self = static_cast<CurlMulti*>(userp);
    if (what == CURL_POLL_REMOVE) {
        self->forget(s);
    } else {
        self->watch(s, what, static_cast<Socket*>(socketp));
    }
    return 0;
}

int CurlMulti::on_timer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<CurlMulti*>(userp);
    if (timeout_ms < 0) {
        self->timer_.cancel();
        return 0;
    }
    // Even a zero timeout goes through the loop: calling curl_multi_socket_action from inside
    // a curl callback would re-enter curl.
    self->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
    self->timer_.async_wait(
        [self, alive = std::weak_ptr<char>(self->alive_)](const boost::system::error_code& ec) {
            if (ec || alive.expired()) return;
            self->action(CURL_SOCKET_TIMEOUT, 0);
        });
    return 0;
}

void CurlMulti::watch(curl_socket_t s, int what, Socket* known) {
    std::shared_ptr<Socket> socket;
    if (auto it = sockets_.find(s); it != sockets_.end()) {
        socket = it->second;
    }
    if (!socket || (known != nullptr && known != socket.get())) {
        socket = std::make_shared<Socket>(io_, s);
        boost::system::error_code ec;
        socket->descriptor.assign(s, ec);
        if (ec) {
            // The transfer using this socket will time out; the daemon carries on.
            return;
        }
        sockets_[s] = socket;
        curl().multi_assign(multi_.get(), s, socket.get());
    }
    socket->want = what;
    arm(socket);
}

void CurlMulti::forget(curl_socket_t s) {
    auto it = sockets_.find(s);
    if (it == sockets_.end()) return;
    std::shared_ptr<Socket> socket = std::move(it->second);
    sockets_.erase(it);
    socket->removed = true;
    // Pending waits complete with operation_aborted and find the socket marked removed; the
    // fd itself stays open for curl, which closes it.
    socket->descriptor.release();
    curl().multi_assign(multi_.get(), s, nullptr);
}

void CurlMulti::arm(const std::shared_ptr<Socket>& socket) {
    using Wait = asio::posix::stream_descriptor::wait_type;
    if ((socket->want & CURL_POLL_IN) != 0 && !socket->reading) {
        socket->reading = true;
        socket->descriptor.async_wait(Wait::wait_read,
                                      [this, socket](const boost::system::error_code& ec) {
                                          socket->reading = false;
                                          on_ready(socket, CURL_CSELECT_IN, ec);
                                      });
    }
    if ((socket->want & CURL_POLL_OUT) != 0 && !socket->writing) {
        socket->writing = true;
        socket->descriptor.async_wait(Wait::wait_write,
                                      [this, socket](const boost::system::error_code& ec) {
                                          socket->writing = false;
                                          on_ready(socket, CURL_CSELECT_OUT, ec);
                                      });
    }
}

void CurlMulti::on_ready(const std::shared_ptr<Socket>& socket, int direction,
                         const boost::system::error_code& ec) {
    // A removed socket may belong to a CurlMulti that is gone: check before touching this.
    if (socket->removed || ec == asio::error::operation_aborted) return;
    int wanted = direction == CURL_CSELECT_IN ? CURL_POLL_IN : CURL_POLL_OUT;
    if ((socket->want & wanted) == 0) {
        // curl changed its mind since this wait was armed; it re-arms through on_socket.
        return;
    }
    action(socket->fd, ec ? CURL_CSELECT_ERR : direction);
    // action() may have removed this socket (or curl may now want something else); re-arm only
    // what a live socket still asks for. After an error curl fails or times out the transfer;
    // re-arming on a socket that keeps failing would spin.
    if (!socket->removed && !ec) arm(socket);
}

void CurlMulti::action(curl_socket_t s, int events) {
    int running = 0;
    curl().multi_socket_action(multi_.get(), s, events, &running);
    collect_finished();
}

void CurlMulti::collect_finished() {
    int left = 0;
    while (CURLMsg* message = curl().multi_info_read(multi_.get(), &left)) {
        if (message->msg != CURLMSG_DONE) continue;
        CURL* easy = message->easy_handle;
        CURLcode result = message->data.result;
        // Read back as the void* that add() stored, not as curl's documented char*: casting a
        // char* to CurlTransfer* raises the required alignment on 32-bit ARM (-Wcast-align).
        void* raw = nullptr;
        curl().easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
        auto it = transfers_.find(static_cast<CurlTransfer*>(raw));
        curl().multi_remove_handle(multi_.get(), easy);
        if (it == transfers_.end()) continue;
        std::shared_ptr<CurlTransfer> transfer = std::move(it->second);
        transfers_.erase(it);
        // The handler may start the next request or tear the uploader down: not from here,
        // in the middle of reading curl's message queue.
        asio::post(io_, [transfer, result] { transfer->finished(result); });
    }
}

}  // namespace fieldlog::sync::client::detail
