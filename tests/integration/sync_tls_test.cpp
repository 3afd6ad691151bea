// TLS end to end with real processes: fieldlog-server serving HTTPS with a certificate from a
// throwaway CA made at test time, fieldlogd verifying it against sync.ca_file, records entered
// through the fieldlog CLI. A device that cannot verify the server (or that the server cannot
// verify) delivers nothing, says why, keeps everything, and delivers it all once put right.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <csignal>
#include <thread>

#include "fieldlog/files.hpp"
#include "sync_harness.hpp"
#include "temp_dir.hpp"
#include "test_pki.hpp"

namespace fieldlog::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::int64_t bulk_records = 300;

int occurrences(std::string_view text, std::string_view what) {
    int n = 0;
    for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

class SyncTls : public ::testing::Test {
protected:
    SyncTls() : pki_(dir_ / "pki"), server_(dir_ / "server") {}

    void start_server(bool require_client_certificates) {
        ServerTls tls{pki_.server_cert, pki_.server_key, std::nullopt,
                      pki_.ca,          std::nullopt,    std::nullopt};
        if (require_client_certificates) {
            tls.client_ca = pki_.ca;
            tls.client_cert = pki_.client_cert;
            tls.client_key = pki_.client_key;
        }
        server_.set_tls(std::move(tls));
        ASSERT_TRUE(server_.start());
        ASSERT_THAT(server_.url(), ::testing::StartsWith("https://127.0.0.1:"));
        token_ = server_.enrol(device_id_);
        ASSERT_FALSE(token_.empty());
    }

    // A device that refuses plain HTTP, so everything it sends is over TLS.
    void make_device(const DeviceTls& tls) {
        SyncSettings settings;
        settings.allow_plain_http = false;
        device_ = make_sync_device(dir_ / "device", device_id_, server_.url(), token_, settings);
        set_device_tls(*device_, tls);
    }

    // The server (asking for client certificates or not) and a device on tls, which records a
    // visit: photo_sha_ is its photo's.
    void start_and_record(bool require_client_certificates, const DeviceTls& tls) {
        ASSERT_NO_FATAL_FAILURE(start_server(require_client_certificates));
        make_device(tls);
        ASSERT_TRUE(device_->start());
        photo_sha_ = record_visit();
        ASSERT_FALSE(photo_sha_.empty());
    }

    // Restarts the device on new [sync] TLS keys: fieldlogd reads [sync] only at start.
    void restart_device(const DeviceTls& tls) {
        ASSERT_TRUE(device_->kill(SIGTERM));
        ASSERT_TRUE(device_->wait_exit());
        set_device_tls(*device_, tls);
        ASSERT_TRUE(device_->start());
    }

    // Runs a fieldlog command that must succeed; what it printed.
    std::string cli(const std::vector<std::string>& args) {
        std::string output;
        auto status = run_cli(*device_, args, output);
        EXPECT_TRUE(status && status->exited() && status->code() == 0)
            << "fieldlog " << args.front() << ": "
            << (status ? status->describe() : "did not finish") << ": " << output;
        return output;
    }

    // An inspection, readings and a photo entered as an inspector would, then a bulk of
    // readings over the control socket; the photo's sha256.
    std::string record_visit() {
        cli({"inspection", "start", "--site", "wwtp-east", "--kind", "wastewater_discharge",
             "--inspector", "Li Wei"});
        cli({"measure", "add", "COD", "75", "mg/L", "--point", "outfall"});
        cli({"measure", "add", "NH3-N", "4.2", "mg/L", "--point", "outfall"});
        photo_ = dir_ / "drums.jpg";
        auto bytes = make_padded_jpeg(7, 600 * 1024);
        EXPECT_TRUE(write_file_atomically(
            photo_, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
            0644));
        std::string added =
            cli({"photo", "add", photo_.string(), "--tag", "unlabeled drums", "--json"});
        WriteResult bulk = add_measurements(*device_, bulk_records, 2, 8, 60s);
        EXPECT_EQ(bulk.acknowledged, bulk_records) << bulk.first_error;
        boost::system::error_code ec;
        json::value reply = json::parse(added, ec);
        const json::value* photo =
            !ec && reply.is_object() ? reply.get_object().if_contains("photo") : nullptr;
        if (photo == nullptr || !photo->is_object() || !photo->get_object().contains("sha256")) {
            ADD_FAILURE() << "fieldlog photo add --json printed " << added;
            return {};
        }
        return std::string(photo->get_object().at("sha256").as_string());
    }

    // Polls status.sync (bounded) until its last error mentions what; the last status seen.
    json::object wait_for_error(std::string_view what, std::chrono::milliseconds limit) {
        const auto deadline = Clock::now() + limit;
        json::object sync;
        while (Clock::now() < deadline) {
            sync = sync_status(*device_);
            const json::value* error = sync.if_contains("last_error");
            if (error != nullptr && error->is_string() &&
                std::string_view(error->get_string()).find(what) != std::string_view::npos) {
                return sync;
            }
            std::this_thread::sleep_for(50ms);
        }
        ADD_FAILURE() << "status.sync never named " << what << ": " << json::serialize(sync);
        return sync;
    }

    // Nothing of the device reached the server, and the device still holds all of it.
    void expect_nothing_delivered() {
        EXPECT_TRUE(server_entries(server_, device_id_).empty());
        auto blob = server_.admin("GET", "/v1/blobs/" + photo_sha_);
        ASSERT_TRUE(blob);
        EXPECT_EQ(blob->status, 404);
        const auto chain = device_chain(*device_);
        EXPECT_GE(chain.size(), static_cast<std::size_t>(bulk_records + 4));
        EXPECT_EQ(pending_entries(*device_), static_cast<std::int64_t>(chain.size()));
    }

    void expect_everything_delivered_once() {
        ASSERT_TRUE(wait_outbox_empty(*device_, 90s))
            << "the device still holds " << pending_entries(*device_) << " entries; status.sync "
            << json::serialize(sync_status(*device_));
        EXPECT_TRUE(delivered_exactly_once(server_, *device_));
        EXPECT_TRUE(blob_matches(server_, photo_sha_, photo_));
        auto sync = sync_status(*device_);
        EXPECT_TRUE(sync.at("last_error").is_null()) << json::serialize(sync);
    }

    TempDir dir_;
    TestPki pki_;
    ServerProcess server_;
    const std::string device_id_ = "handheld-tls";
    std::string token_;
    std::unique_ptr<DaemonProcess> device_;
    std::filesystem::path photo_;
    std::string photo_sha_;
};

TEST_F(SyncTls, EveryRecordAndPhotoArrivesOnceOverTls) {
    ASSERT_NO_FATAL_FAILURE(start_and_record(false, {pki_.ca, std::nullopt, std::nullopt}));
    expect_everything_delivered_once();
}

TEST_F(SyncTls, ADeviceTrustingAnotherCaDeliversNothingUntilGivenTheRightOne) {
    ASSERT_NO_FATAL_FAILURE(start_and_record(false, {pki_.other_ca, std::nullopt, std::nullopt}));

    wait_for_error("TLS failed", 60s);
    EXPECT_THAT(cli({"status"}), HasSubstr("certificate"));
    // The device log has it once, however often the device retried.
    EXPECT_EQ(occurrences(cli({"logs", "--level", "error", "--json"}), "sync_tls_failed"), 1);
    std::string output;
    auto synced = run_cli(*device_, {"sync", "--wait"}, output);
    ASSERT_TRUE(synced);
    EXPECT_NE(synced->code(), 0) << output;
    EXPECT_THAT(output, HasSubstr("TLS failed"));
    expect_nothing_delivered();

    restart_device({pki_.ca, std::nullopt, std::nullopt});
    expect_everything_delivered_once();
    // The office learns of the outage from the device log, synced like any record.
    auto reply = server_.admin("GET", "/v1/devices/" + device_id_ + "/logs?limit=1000");
    ASSERT_TRUE(reply);
    EXPECT_THAT(reply->body, HasSubstr("sync_tls_failed"));
}

TEST_F(SyncTls, AServerAskingForClientCertificatesRefusesADeviceWithoutOne) {
    ASSERT_NO_FATAL_FAILURE(start_and_record(true, {pki_.ca, std::nullopt, std::nullopt}));

    wait_for_error("TLS failed: the server refused the connection", 60s);
    EXPECT_EQ(occurrences(cli({"logs", "--level", "error", "--json"}), "sync_tls_failed"), 1);
    expect_nothing_delivered();

    restart_device({pki_.ca, pki_.client_cert, pki_.client_key});
    expect_everything_delivered_once();
}

}  // namespace
}  // namespace fieldlog::testing
