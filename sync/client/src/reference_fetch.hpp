// Reference data coming down (docs/sync-protocol.md): asks the office for a version newer than
// the one the device holds and hands a bundle to the device's ReferenceHooks, which check and
// apply it. Runs on the loop, through the uploader's transport, one request at a time.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fieldlog/sync/client/upload_transport.hpp"
#include "fieldlog/sync/client/uploader.hpp"

namespace fieldlog::sync::client {

struct ReferenceOutcome {
    bool asked = false;                      // a request went out
    std::optional<std::int64_t> checked_ms;  // the server answered it (up to date, or a bundle)
    std::int64_t applied_version = 0;        // the version applied from this answer, if any
    std::string error;                       // why the request failed or the bundle was refused
};

class ReferenceFetch : public std::enable_shared_from_this<ReferenceFetch> {
public:
    using Log =
        std::function<void(std::string_view level, std::string_view event, std::string message)>;
    using Done = std::function<void(ReferenceOutcome)>;

    ReferenceFetch(boost::asio::io_context& io, ReferenceHooks hooks, Log log,
                   std::function<std::int64_t()> wall_clock_ms);

    // Asks resource_url (the device's reference resource) for data newer than the device holds,
    // unless the server answered less than the check interval ago and the caller does not force
    // it. done runs later on the loop, never inside run(); not at all when the transport's
    // exchanges are abandoned (the uploader is stopping).
    void run(UploadTransport& transport, const std::string& resource_url,
             std::vector<HttpHeader> headers, bool forced, Done done);

private:
    void on_reply(Result<HttpResponse> reply, const std::string& url, Done done);
    void on_applied(Result<std::int64_t> applied, Done done);
    // The next unforced check waits for the interval.
    void defer();
    // The server answered: defer, and note when.
    void answered(ReferenceOutcome& outcome);
    // A reply or bundle the device will not take: the device log says so, once per reason.
    void refuse(std::string why, Done done);

    boost::asio::io_context& io_;
    ReferenceHooks hooks_;
    Log log_;
    std::function<std::int64_t()> wall_clock_ms_;
    std::optional<std::chrono::steady_clock::time_point> next_due_;
    std::string last_logged_;
};

}  // namespace fieldlog::sync::client
