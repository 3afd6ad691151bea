// libcurl's multi_socket interface driven by an Asio io_context (the shape of curl's
// docs/examples/ephiperfifo.c): curl names the sockets to watch and when to wake; the loop calls
// curl_multi_socket_action and drains curl_multi_info_read. Nothing blocks and nothing polls.
//
// The two bugs that got curl's own Asio example (asiohiper.cpp) removed are avoided here:
//   - one-shot waits: every async_wait is re-armed after its event while curl still wants that
//     direction (curl/curl#1191);
//   - re-entrancy: curl may remove a socket from inside curl_multi_socket_action, i.e. while our
//     handler for that very socket runs. Socket state is shared_ptr-owned, each pending wait holds
//     a reference, and a removed socket is only marked and forgotten, never freed under a running
//     handler (curl/curl#1219).
// Curl owns its sockets: the stream_descriptor wrapping one is release()d, never closed.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>

#include "curl_api.hpp"
#include "fieldlog/error.hpp"

namespace fieldlog::sync::client::detail {

struct CurlEasyDeleter {
    void operator()(CURL* easy) const { curl().easy_cleanup(easy); }
};
struct CurlMultiDeleter {
    void operator()(CURLM* multi) const { curl().multi_cleanup(multi); }
};
struct CurlSlistDeleter {
    void operator()(curl_slist* list) const { curl().slist_free_all(list); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlMultiHandle = std::unique_ptr<CURLM, CurlMultiDeleter>;
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

// One transfer: it owns its easy handle and whatever the handle points at (body, header list,
// buffers), so all of it lives exactly as long as the transfer. CURLOPT_PRIVATE points here.
class CurlTransfer {
public:
    virtual ~CurlTransfer() = default;
    virtual CURL* easy() const = 0;
    // The transfer is over; runs on the io_context, never inside a curl call.
    virtual void finished(CURLcode result) = 0;
};

class CurlMulti {
public:
    explicit CurlMulti(boost::asio::io_context& io);
    ~CurlMulti();
    CurlMulti(const CurlMulti&) = delete;
    CurlMulti& operator=(const CurlMulti&) = delete;

    // Starts a transfer; its finished() is called once, later, unless cancel_all() comes first.
    [[nodiscard]] Status add(std::unique_ptr<CurlTransfer> transfer);
    // Removes every transfer; none of their finished() is called.
    void cancel_all();
    std::size_t active() const { return transfers_.size(); }
    // Sockets curl currently asks to watch (transfers and kept connections), for tests.
    std::size_t watched_sockets() const { return sockets_.size(); }

private:
    struct Socket {
        Socket(boost::asio::io_context& io, curl_socket_t s) : descriptor(io), fd(s) {}
        boost::asio::posix::stream_descriptor descriptor;
        curl_socket_t fd;
        int want = 0;  // CURL_POLL_IN / CURL_POLL_OUT bits
        bool reading = false;
        bool writing = false;
        bool removed = false;
    };

    static int on_socket(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp);
    static int on_timer(CURLM* multi, long timeout_ms, void* userp);

    void watch(curl_socket_t s, int what, Socket* known);
    void forget(curl_socket_t s);
    void arm(const std::shared_ptr<Socket>& socket);
    void on_ready(const std::shared_ptr<Socket>& socket, int direction,
                  const boost::system::error_code& ec);
    void action(curl_socket_t s, int events);
    void collect_finished();

    boost::asio::io_context& io_;
    boost::asio::steady_timer timer_;
    std::map<curl_socket_t, std::shared_ptr<Socket>> sockets_;
    std::map<CurlTransfer*, std::unique_ptr<CurlTransfer>> transfers_;
    // Handlers already queued when this object goes away see the token expired.
    std::shared_ptr<char> alive_ = std::make_shared<char>();
    CurlMultiHandle multi_;
};

}  // namespace fieldlog::sync::client::detail
