// The libcurl transport against real servers on loopback: the scripted HTTP(S) server, and
// `openssl s_server` for TLS, with certificates made for the test.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include "fieldlog/files.hpp"
#include "fieldlog/sync/client/upload_transport.hpp"
#include "scripted_server.hpp"
#include "temp_dir.hpp"
#include "test_pki.hpp"

namespace fieldlog::sync::client::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class Transport : public ::testing::Test {
protected:
    std::unique_ptr<UploadTransport> make(TransportOptions options) {
        auto made = make_curl_transport(io_, std::move(options));
        EXPECT_TRUE(made) << made.error().to_string();
        return made ? std::move(*made) : nullptr;
    }

    // One exchange, with the loop run until it answers (bounded).
    std::optional<Result<HttpResponse>> exchange(UploadTransport& transport, HttpRequest request) {
        std::optional<Result<HttpResponse>> answer;
        transport.send(std::move(request), [&](Result<HttpResponse> r) { answer = std::move(r); });
        auto until = std::chrono::steady_clock::now() + 20s;
        while (!answer && std::chrono::steady_clock::now() < until) {
            io_.restart();
            io_.run_for(5ms);
        }
        return answer;
    }

    boost::asio::io_context io_;
    fieldlog::testing::TempDir dir_;
};

TEST_F(Transport, RefusesPlainHttpUnlessAllowed) {
    ScriptedServer server([](const ServerRequest&) { return ServerResponse{}; });
    auto strict = make({});
    auto refused = exchange(*strict, {"POST", server.url() + "/x", {}, "{}"});
    ASSERT_TRUE(refused);
    ASSERT_FALSE(*refused);
    EXPECT_EQ(refused->error().code(), Errc::permission) << refused->error().to_string();

    TransportOptions lab;
    lab.allow_plain_http = true;
    auto allowed = make(lab);
    auto answer = exchange(*allowed, {"POST", server.url() + "/x", {{"X-Test", "1"}}, "{}"});
    ASSERT_TRUE(answer && *answer) << (answer ? answer->error().to_string() : "no answer");
    EXPECT_EQ((*answer)->status, 200);
}

TEST_F(Transport, SendsHeadersAndReadsHeadersAndBody) {
    ScriptedServer server([](const ServerRequest& r) {
        return ServerResponse{207,
                              {{"Upload-Offset", "12"}, {"X-Echo", r.headers.at("x-token")}},
                              r.method + " " + r.body,
                              false};
    });
    TransportOptions options;
    options.allow_plain_http = true;
    auto transport = make(options);
    auto answer =
        exchange(*transport, {"PATCH", server.url() + "/b", {{"X-Token", "abc"}}, "chunk"});
    ASSERT_TRUE(answer && *answer) << (answer ? answer->error().to_string() : "no answer");
    EXPECT_EQ((*answer)->status, 207);
    EXPECT_EQ((*answer)->body, "PATCH chunk");
    EXPECT_EQ((*answer)->header("upload-offset"), "12");
    EXPECT_EQ((*answer)->header("x-echo"), "abc");
    EXPECT_FALSE((*answer)->header("absent"));
}

TEST_F(Transport, RefusesAnOversizeReply) {
    ScriptedServer server([](const ServerRequest&) {
        return ServerResponse{200, {}, std::string(2 << 20, 'x'), false};
    });
    TransportOptions options;
    options.allow_plain_http = true;
    options.max_response_bytes = 1 << 20;
    auto transport = make(options);
    auto answer = exchange(*transport, {"POST", server.url() + "/x", {}, "{}"});
    ASSERT_TRUE(answer);
    ASSERT_FALSE(*answer);
    EXPECT_EQ(answer->error().code(), Errc::too_large) << answer->error().to_string();
}

TEST_F(Transport, ReportsAServerThatIsNotThereAsUnavailable) {
    TransportOptions options;
    options.allow_plain_http = true;
    auto transport = make(options);
    auto answer = exchange(*transport, {"POST", closed_port_url(), {}, ""});
    ASSERT_TRUE(answer);
    ASSERT_FALSE(*answer);
    EXPECT_EQ(answer->error().code(), Errc::unavailable) << answer->error().to_string();
}

TEST_F(Transport, RunsManyExchangesAtOnce) {
    ScriptedServer server([](const ServerRequest& r) {
        return ServerResponse{200, {}, r.body, false};
    });
    TransportOptions options;
    options.allow_plain_http = true;
    auto transport = make(options);
    constexpr int n = 16;
    int answered = 0;
    for (int i = 0; i < n; ++i) {
        transport->send({"POST", server.url() + "/x", {}, std::to_string(i)},
                        [&answered, i](Result<HttpResponse> r) {
                            EXPECT_TRUE(r && r->body == std::to_string(i));
                            ++answered;
                        });
    }
    auto until = std::chrono::steady_clock::now() + 20s;
    while (answered < n && std::chrono::steady_clock::now() < until) io_.run_for(5ms);
    EXPECT_EQ(answered, n);
}

TEST_F(Transport, DroppingTheTransportAbandonsExchangesAndFreesTheLoop) {
    ScriptedServer server([](const ServerRequest&) {
        std::this_thread::sleep_for(300ms);
        return ServerResponse{};
    });
    TransportOptions options;
    options.allow_plain_http = true;
    auto transport = make(options);
    bool called = false;
    transport->send({"POST", server.url() + "/x", {}, "{}"},
                    [&](Result<HttpResponse>) { called = true; });
    io_.run_for(50ms);
    transport.reset();
    io_.restart();
    io_.run_for(5s);  // returns at once when nothing is left on the loop
    EXPECT_TRUE(io_.stopped());
    EXPECT_FALSE(called);
}

// ---- TLS ----

bool run_quietly(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// `openssl s_server -www` on an ephemeral loopback port, as a child process of the test.
class TlsServer {
public:
    TlsServer(const std::filesystem::path& cert, const std::filesystem::path& key) {
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(out[1], STDOUT_FILENO);
            ::dup2(out[1], STDERR_FILENO);
            ::execlp("openssl", "openssl", "s_server", "-accept", "127.0.0.1:0", "-cert",
                     cert.c_str(), "-key", key.c_str(), "-www", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(out[1]);
        UniqueFd reader(out[0]);
        std::string seen;
        auto until = std::chrono::steady_clock::now() + 10s;
        while (port_ == 0 && std::chrono::steady_clock::now() < until) {
            pollfd entry{reader.get(), POLLIN, 0};
            if (::poll(&entry, 1, 100) <= 0) continue;
            char buffer[256];
            ssize_t n = ::read(reader.get(), buffer, sizeof buffer);
            if (n <= 0) break;
            seen.append(buffer, static_cast<std::size_t>(n));
            auto at = seen.find("ACCEPT 127.0.0.1:");
            auto end = at == std::string::npos ? at : seen.find('\n', at);
            if (end != std::string::npos) port_ = std::atoi(seen.c_str() + at + 17);
        }
    }
    ~TlsServer() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    int port() const { return port_; }

private:
    pid_t pid_ = -1;
    int port_ = 0;
};

class Tls : public Transport {
protected:
    void SetUp() override {
        if (!run_quietly("openssl version")) GTEST_SKIP() << "no openssl command here";
        // A CA, and server certificates signed by it: one for 127.0.0.1, one for another host.
        std::string d = dir_.path().string();
        ASSERT_TRUE(run_quietly("cd " + d +
                                " && openssl req -x509 -newkey ec -pkeyopt "
                                "ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem "
                                "-days 2 -subj '/CN=fieldlog test CA'"));
        for (const auto& [name, san] :
             {std::pair{"good", "IP:127.0.0.1"}, std::pair{"other", "DNS:office.example"}}) {
            ASSERT_TRUE(run_quietly(
                "cd " + d + " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes " +
                "-keyout " + name + ".key -out " + name + ".csr -subj /CN=" + name +
                " && printf 'subjectAltName=" + san + "\\n' > " + name + ".ext" +
                " && openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key " +
                "-CAcreateserial -out " + name + ".pem -days 2 -extfile " + name + ".ext"));
        }
    }

    // GET / from a TLS server with the given certificate, checked against ca_file.
    std::optional<Result<HttpResponse>> fetch(std::string_view cert, std::filesystem::path ca) {
        TlsServer server(dir_ / (std::string(cert) + ".pem"), dir_ / (std::string(cert) + ".key"));
        if (server.port() == 0) {
            ADD_FAILURE() << "openssl s_server did not start";
            return std::nullopt;
        }
        TransportOptions options;
        options.ca_file = std::move(ca);
        options.request_timeout = 10s;
        auto transport = make(options);
        return exchange(
            *transport,
            {"GET", "https://127.0.0.1:" + std::to_string(server.port()) + "/", {}, {}});
    }
};

TEST_F(Tls, TrustsAServerCertificateSignedByTheConfiguredCa) {
    auto answer = fetch("good", dir_ / "ca.pem");
    ASSERT_TRUE(answer && *answer) << (answer ? answer->error().to_string() : "no answer");
    EXPECT_EQ((*answer)->status, 200);
}

TEST_F(Tls, RefusesACertificateTheCaDidNotSign) {
    // The system's trust store does not know the test CA.
    auto answer = fetch("good", {});
    ASSERT_TRUE(answer);
    ASSERT_FALSE(*answer);
    EXPECT_EQ(answer->error().code(), Errc::permission) << answer->error().to_string();
    EXPECT_THAT(answer->error().message(), HasSubstr("TLS failed"));
}

TEST_F(Tls, RefusesACertificateForAnotherHost) {
    auto answer = fetch("other", dir_ / "ca.pem");
    ASSERT_TRUE(answer);
    ASSERT_FALSE(*answer);
    EXPECT_EQ(answer->error().code(), Errc::permission) << answer->error().to_string();
}

// With TLS 1.3 the client's side of the handshake is done before the server has checked the
// client's certificate, so its refusal arrives as an alert on the first read.
class ClientCertificates : public Transport {
protected:
    ClientCertificates()
        : pki_(dir_ / "pki"),
          server_(
              [](const ServerRequest&) {
                  return ServerResponse{200, {}, "ok", false};
              },
              ServerTls{pki_.server_cert, pki_.server_key, pki_.ca}) {}

    std::optional<Result<HttpResponse>> fetch(const std::filesystem::path& cert,
                                              const std::filesystem::path& key) {
        TransportOptions options;
        options.ca_file = pki_.ca;
        options.client_cert = cert;
        options.client_key = key;
        options.request_timeout = 10s;
        auto transport = make(options);
        if (!transport) return std::nullopt;
        return exchange(*transport, {"POST", server_.url() + "/v1/batches", {}, "{}"});
    }

    void expect_refused(const std::optional<Result<HttpResponse>>& answer) {
        ASSERT_TRUE(answer) << "no answer in time";
        ASSERT_FALSE(*answer) << "HTTP " << (*answer)->status;
        EXPECT_EQ(answer->error().code(), Errc::permission) << answer->error().to_string();
        EXPECT_THAT(answer->error().message(),
                    HasSubstr("TLS failed: the server refused the connection"));
    }

    fieldlog::testing::TestPki pki_;
    ScriptedServer server_;
};

TEST_F(ClientCertificates, AnAcceptedCertificateGetsItsAnswer) {
    auto answer = fetch(pki_.client_cert, pki_.client_key);
    ASSERT_TRUE(answer && *answer) << (answer ? answer->error().to_string() : "no answer");
    EXPECT_EQ((*answer)->status, 200);
}

TEST_F(ClientCertificates, AMissingCertificateIsATlsFailure) { expect_refused(fetch({}, {})); }

TEST_F(ClientCertificates, ACertificateFromAnotherCaIsATlsFailure) {
    expect_refused(fetch(pki_.stranger_cert, pki_.client_key));
}

TEST_F(ClientCertificates, ARefusedCertificateIsATlsFailure) {
    server_.refuse_client_certificates(true);
    expect_refused(fetch(pki_.client_cert, pki_.client_key));
}

}  // namespace
}  // namespace fieldlog::sync::client::testing
