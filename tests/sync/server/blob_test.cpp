// Resumable photo uploads: durable chunks, the server's offset, SHA-256 at completion, and
// photo records held back until their blob is complete.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server_harness.hpp"

namespace fieldlog::server::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

class BlobTest : public ::testing::Test {
protected:
    BlobTest() : photo_(random_bytes(3 * chunk_, 7)), sha_(to_hex(sha256(photo_))) {
        token_ = server_->enrol("cam-01");
    }

    HttpReply patch(std::int64_t offset, std::string_view data, std::int64_t length,
                    const std::string& sha, const std::string& token) {
        HttpHeaders headers{{"Authorization", "Bearer " + token},
                            {"Content-Type", "application/offset+octet-stream"},
                            {"Upload-Offset", std::to_string(offset)},
                            {"Upload-Length", std::to_string(length)}};
        return server_->client().request("PATCH", target(sha), headers, data).value();
    }
    HttpReply patch_chunk(int index) {
        return patch(index * chunk_, std::string_view(photo_).substr(index * chunk_, chunk_),
                     static_cast<std::int64_t>(photo_.size()), sha_, token_);
    }
    HttpReply head(const std::string& sha) {
        HttpHeaders headers{{"Authorization", "Bearer " + token_}};
        return server_->client().request("HEAD", target(sha), headers).value();
    }
    std::string target(const std::string& sha) { return "/v1/devices/cam-01/blobs/" + sha; }

    static constexpr std::size_t chunk_ = 100 * 1024;
    fieldlog::testing::TempDir dir_;
    std::unique_ptr<TestServer> server_ = std::make_unique<TestServer>(dir_);
    std::string photo_;
    std::string sha_;
    std::string token_;
};

TEST_F(BlobTest, UploadInThreeChunksReportsTheOffsetAfterEach) {
    EXPECT_EQ(head(sha_).status, 404);
    for (int i = 0; i < 3; ++i) {
        auto reply = patch_chunk(i);
        std::string expected_offset = std::to_string((i + 1) * chunk_);
        EXPECT_EQ(reply.status, i < 2 ? 204 : 201) << reply.body;
        EXPECT_EQ(reply.header("Upload-Offset"), expected_offset);
        auto state = head(sha_);
        ASSERT_EQ(state.status, 200);
        EXPECT_EQ(state.header("Upload-Offset"), expected_offset);
        EXPECT_EQ(state.header("Upload-Length"), std::to_string(photo_.size()));
        EXPECT_EQ(state.header("Upload-Complete"), i < 2 ? "?0" : "?1");
    }
    auto blob = server_->admin("GET", "/v1/blobs/" + sha_);
    ASSERT_EQ(blob.status, 200);
    EXPECT_EQ(blob.header("Content-Type"), "application/octet-stream");
    EXPECT_TRUE(blob.body == photo_);
    EXPECT_TRUE(std::filesystem::exists(server_->data_dir() / "blobs" / sha_.substr(0, 2) / sha_));
}

TEST_F(BlobTest, WrongOffsetGets409WithTheServersOffset) {
    ASSERT_EQ(patch_chunk(0).status, 204);
    for (std::int64_t wrong : {std::int64_t{0}, std::int64_t{2 * chunk_}, std::int64_t{17}}) {
        auto reply = patch(wrong, "xyz", static_cast<std::int64_t>(photo_.size()), sha_, token_);
        EXPECT_EQ(reply.status, 409) << wrong;
        EXPECT_EQ(error_code(reply), "offset_mismatch");
        EXPECT_EQ(reply.header("Upload-Offset"), std::to_string(chunk_));
    }
    EXPECT_EQ(head(sha_).header("Upload-Offset"), std::to_string(chunk_));
    // The refused chunks left no trace: the upload still completes to the right hash.
    ASSERT_EQ(patch_chunk(1).status, 204);
    EXPECT_EQ(patch_chunk(2).status, 201);
}

TEST_F(BlobTest, FirstChunkMustStartAtZero) {
    auto reply = patch(5, "abc", 100, sha_, token_);
    EXPECT_EQ(reply.status, 409);
    EXPECT_EQ(reply.header("Upload-Offset"), "0");
    EXPECT_EQ(head(sha_).status, 404);
}

TEST_F(BlobTest, CompletionWithWrongContentGets422AndIsDiscarded) {
    std::string other = random_bytes(2 * chunk_, 99);
    ASSERT_EQ(patch(0, std::string_view(other).substr(0, chunk_), 2 * chunk_, sha_, token_).status,
              204);
    auto reply = patch(chunk_, std::string_view(other).substr(chunk_), 2 * chunk_, sha_, token_);
    EXPECT_EQ(reply.status, 422);
    EXPECT_EQ(error_code(reply), "hash_mismatch");
    EXPECT_EQ(head(sha_).status, 404);
    EXPECT_FALSE(
        std::filesystem::exists(server_->data_dir() / "blobs" / "partial" / (sha_ + ".part")));
    EXPECT_FALSE(std::filesystem::exists(server_->data_dir() / "blobs" / sha_.substr(0, 2) / sha_));
    // The device can then start the real upload from 0.
    EXPECT_EQ(patch_chunk(0).status, 204);
}

TEST_F(BlobTest, PhotoRecordBeforeItsBlobGets409BlobMissingThenIsAccepted) {
    DeviceChain chain("cam-01");
    chain.append("inspection", "insp-1", inspection_record("insp-1", "yard-3", 1000));
    chain.append("photo", "ph-1",
                 photo_record("ph-1", "insp-1", sha_, static_cast<std::int64_t>(photo_.size())));
    auto early = server_->post_batch("cam-01", token_, chain.batch(1, 2));
    EXPECT_EQ(early.status, 409) << early.body;
    EXPECT_EQ(error_code(early), "blob_missing");
    json::object body = parse_object(early.body);
    ASSERT_TRUE(body.contains("missing_blobs"));
    EXPECT_EQ(body.at("missing_blobs").as_array(), json::array{json::value(sha_)});
    EXPECT_EQ(body.at("acked_seq").as_int64(), 0);
    EXPECT_EQ(stored_counts(server_->data_dir(), "cam-01").entries, 0);

    // A blob only partly uploaded still holds the record back.
    ASSERT_EQ(patch_chunk(0).status, 204);
    EXPECT_EQ(server_->post_batch("cam-01", token_, chain.batch(1, 2)).status, 409);

    ASSERT_EQ(patch_chunk(1).status, 204);
    ASSERT_EQ(patch_chunk(2).status, 201);
    auto accepted = server_->post_batch("cam-01", token_, chain.batch(1, 2));
    EXPECT_EQ(accepted.status, 200) << accepted.body;
    EXPECT_EQ(stored_counts(server_->data_dir(), "cam-01").entries, 2);
}

TEST_F(BlobTest, PhotoWithoutAHashIsABadPayload) {
    DeviceChain chain("cam-01");
    json::object photo = photo_record("ph-1", "insp-1", "not-a-hash", 10);
    chain.append("photo", "ph-1", photo);
    auto reply = server_->post_batch("cam-01", token_, chain.batch(1, 1));
    EXPECT_EQ(reply.status, 400);
    EXPECT_EQ(error_code(reply), "bad_payload");
}

TEST_F(BlobTest, UploadResumesFromTheDurableOffsetAfterARestart) {
    ASSERT_EQ(patch_chunk(0).status, 204);
    server_.reset();
    server_ = std::make_unique<TestServer>(dir_);
    auto state = head(sha_);
    ASSERT_EQ(state.status, 200);
    EXPECT_EQ(state.header("Upload-Offset"), std::to_string(chunk_));
    EXPECT_EQ(patch_chunk(1).status, 204);
    EXPECT_EQ(patch_chunk(2).status, 201);
}

TEST_F(BlobTest, UploadsNeedTheDevicesToken) {
    EXPECT_EQ(patch(0, "abc", 3, sha_, "wrong").status, 401);
    EXPECT_EQ(patch(0, "abc", 3, sha_, server_->admin_token()).status, 401);
    HttpHeaders none;
    EXPECT_EQ(server_->client().request("HEAD", target(sha_), none).value().status, 401);
}

TEST_F(BlobTest, MalformedUploadsAreRefused) {
    auto bad_name = patch(0, "abc", 3, "ABC", token_);
    EXPECT_EQ(bad_name.status, 400);
    EXPECT_EQ(error_code(bad_name), "bad_target");
    auto too_long = patch(0, "abc", server_->config().max_blob_bytes + 1, sha_, token_);
    EXPECT_EQ(too_long.status, 413);
    auto past_end = patch(0, "abcdef", 3, sha_, token_);
    EXPECT_EQ(past_end.status, 400);
    HttpHeaders headers{{"Authorization", "Bearer " + token_},
                        {"Content-Type", "image/jpeg"},
                        {"Upload-Offset", "0"},
                        {"Upload-Length", "3"}};
    EXPECT_EQ(server_->client().request("PATCH", target(sha_), headers, "abc").value().status, 415);
    headers[1].second = "application/offset+octet-stream";
    headers[2].second = "-1";
    EXPECT_EQ(server_->client().request("PATCH", target(sha_), headers, "abc").value().status, 400);
    std::string big(4 * 1024 * 1024 + 1, 'x');
    auto chunk_too_big = patch(0, big, 8 * 1024 * 1024, sha_, token_);
    EXPECT_EQ(chunk_too_big.status, 413);
    EXPECT_EQ(head(sha_).status, 404);
}

TEST_F(BlobTest, CompleteBlobIsReportedCompleteToAnotherDevice) {
    for (int i = 0; i < 3; ++i) ASSERT_NE(patch_chunk(i).status, 409);
    std::string other = server_->enrol("cam-02");
    HttpHeaders headers{{"Authorization", "Bearer " + other}};
    auto state =
        server_->client().request("HEAD", "/v1/devices/cam-02/blobs/" + sha_, headers).value();
    EXPECT_EQ(state.status, 200);
    EXPECT_EQ(state.header("Upload-Complete"), "?1");
}

}  // namespace
}  // namespace fieldlog::server::testing
