// The uploader against an office that speaks HTTPS but will not talk to it: a TLS failure is a
// setting to put right, so it is said plainly in the status and put in the device log once per
// run of failures, not at every retry.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "fieldlog/sync/client/uploader.hpp"
#include "test_pki.hpp"
#include "uploader_fixture.hpp"

namespace fieldlog::sync::client::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class TlsFailures : public UploaderTest {
protected:
    void SetUp() override {
        ASSERT_NO_FATAL_FAILURE(UploaderTest::SetUp());
        pki_.emplace(dir_ / "pki");
        office_ =
            std::make_unique<FakeOffice>(std::string(device_id), std::string(device_token),
                                         ServerTls{pki_->server_cert, pki_->server_key, pki_->ca});
    }

    // Retries within tens of milliseconds, over TLS with the device's client certificate.
    config::SyncConfig tls_config(const std::filesystem::path& ca_file) const {
        auto config = sync_config();
        config.allow_plain_http = false;
        config.ca_file = ca_file;
        config.client_cert = pki_->client_cert;
        config.client_key = pki_->client_key;
        return config;
    }

    static bool is_tls_failure(const std::string& line) {
        return line.find("sync_tls_failed") != std::string::npos;
    }

    int tls_failures_logged() const {
        return static_cast<int>(
            std::count_if(device_log_.begin(), device_log_.end(), is_tls_failure));
    }

    std::string first_tls_failure_logged() const {
        auto it = std::find_if(device_log_.begin(), device_log_.end(), is_tls_failure);
        return it == device_log_.end() ? std::string() : *it;
    }

    // Runs the loop until the uploader has failed `attempts` rounds in a row (bounded).
    bool failed_rounds(std::int64_t attempts) {
        return run_until([&] {
            SyncStatus s = status();
            return s.attempts >= attempts && s.state == SyncState::backoff;
        });
    }

    bool drained() {
        return run_until(
            [&] { return status().state == SyncState::idle && pending_entries() == 0; });
    }

    void expect_tls_failure_status() {
        SyncStatus s = status();
        EXPECT_EQ(s.state, SyncState::backoff);
        EXPECT_THAT(s.last_error, HasSubstr("TLS failed"));
        EXPECT_FALSE(s.unreachable) << "a refused certificate is no missing link";
        EXPECT_TRUE(s.next_attempt_ms.has_value());
    }

    std::optional<fieldlog::testing::TestPki> pki_;
};

TEST_F(TlsFailures, AServerRefusingTheClientCertificateIsLoggedOncePerRunOfFailures) {
    start_inspection();
    add_measurement();
    office_->server().refuse_client_certificates(true);
    make_uploader(tls_config(pki_->ca));
    uploader_->start();
    ASSERT_TRUE(failed_rounds(4)) << status().last_error;
    expect_tls_failure_status();
    EXPECT_THAT(status().last_error, HasSubstr("the server refused the connection"));
    ASSERT_EQ(tls_failures_logged(), 1) << "however often the device retried";
    EXPECT_THAT(first_tls_failure_logged(), StartsWith("error sync_tls_failed: "));
    EXPECT_THAT(first_tls_failure_logged(), HasSubstr("sync.client_cert"));
    EXPECT_TRUE(office_->requests().empty());
    EXPECT_EQ(pending_entries(), 2);

    // Put right at the office: everything goes, and the error is gone.
    office_->server().refuse_client_certificates(false);
    ASSERT_TRUE(drained()) << status().last_error;
    EXPECT_EQ(status().last_error, "");
    EXPECT_EQ(office_->acked_seq(), 2);
    EXPECT_EQ(tls_failures_logged(), 1);

    // Refused again later: a new run of failures is logged once more. The kept connection is
    // cut so that the next exchange needs a new handshake.
    office_->server().refuse_client_certificates(true);
    office_->set_script(
        [](FakeOffice&, const ServerRequest&, int) -> std::optional<ServerResponse> {
            return ServerResponse{200, {}, {}, true};
        });
    std::int64_t attempts_before = status().attempts;
    add_measurement();
    uploader_->notify_written();
    ASSERT_TRUE(run_until([&] {
        return status().attempts >= attempts_before + 3 && status().state == SyncState::backoff &&
               tls_failures_logged() > 1;
    })) << status().last_error;
    expect_tls_failure_status();
    EXPECT_EQ(tls_failures_logged(), 2);
    EXPECT_EQ(pending_entries(), 1);
}

TEST_F(TlsFailures, AServerCertificateFromAnUntrustedCaIsLoggedOnce) {
    start_inspection();
    make_uploader(tls_config(pki_->other_ca));
    uploader_->start();
    ASSERT_TRUE(failed_rounds(4)) << status().last_error;
    expect_tls_failure_status();
    EXPECT_EQ(tls_failures_logged(), 1);
    EXPECT_THAT(first_tls_failure_logged(), HasSubstr("sync.ca_file"));
    EXPECT_TRUE(office_->requests().empty()) << "nothing is sent to a server not trusted";
    EXPECT_EQ(pending_entries(), 1);

    // A sync that waits is answered with the failure, and logs nothing new.
    auto answer = sync_and_wait();
    ASSERT_FALSE(answer);
    EXPECT_THAT(answer.error().message(), HasSubstr("TLS failed"));
    EXPECT_EQ(tls_failures_logged(), 1);
}

}  // namespace
}  // namespace fieldlog::sync::client::testing
