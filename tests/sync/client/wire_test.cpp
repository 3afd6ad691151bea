#include "wire.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace fieldlog::sync::client::wire {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

std::string times32(std::string_view hex_byte) {
    std::string out;
    for (int i = 0; i < 32; ++i) out += hex_byte;
    return out;
}

store::OutboxEntry entry(std::int64_t seq) {
    store::OutboxEntry e;
    e.entry.seq = seq;
    e.entry.kind = "measurement";
    e.entry.record_id = "M-" + std::to_string(seq);
    e.entry.action = "put";
    e.entry.payload_hash.fill(1);
    e.entry.prev_hash.fill(2);
    e.entry.entry_hash.fill(static_cast<std::uint8_t>(seq));
    e.entry.device_time_ms = 1000 + seq;
    e.payload = R"({"id":"M-)" + std::to_string(seq) + R"(","note":"say \"hi\""})";
    return e;
}

TEST(BatchBody, CarriesEntriesPendingAndHeadAsTheProtocolNamesThem) {
    store::PublicKey key{};
    key.fill(0xab);
    store::Signature signature{};
    signature.fill(0xcd);
    auto second = entry(8);
    second.entry.gnss_time_ms = 77;
    json::value body = json::parse(batch_body(key, {3, 120}, {entry(7), second}, {}, signature));
    EXPECT_EQ(body.at("public_key").as_string(), times32("ab"));
    EXPECT_EQ(body.at("pending"), json::parse(R"({"entries": 3, "bytes": 120})"));
    const json::array& entries = body.at("entries").as_array();
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].at("seq"), 7);
    EXPECT_EQ(entries[0].at("gnss_time_ms"), nullptr);
    EXPECT_EQ(entries[1].at("gnss_time_ms"), 77);
    EXPECT_EQ(entries[0].at("payload").as_string(), entry(7).payload);
    EXPECT_EQ(entries[0].at("payload_hash").as_string(), times32("01"));
    EXPECT_EQ(body.at("head").at("seq"), 8);
    EXPECT_EQ(body.at("head").at("entry_hash"), entries[1].at("entry_hash"));
    EXPECT_EQ(body.at("head").at("signature").as_string().size(), 128u);
}

TEST(BatchBody, AWithheldEntryKeepsItsChainFieldsButNotItsPayload) {
    store::PublicKey key{};
    store::Signature signature{};
    std::map<std::int64_t, Withheld> withheld{{7, {"bad_payload", "not an object"}}};
    json::value body = json::parse(batch_body(key, {}, {entry(7), entry(8)}, withheld, signature));
    const json::object& first = body.at("entries").at(0).as_object();
    EXPECT_TRUE(first.at("payload").is_null());
    EXPECT_EQ(first.at("withheld"), json::parse(R"({"code": "bad_payload",
                                                    "message": "not an object"})"));
    EXPECT_EQ(first.at("entry_hash").as_string().size(), 64u);
    EXPECT_TRUE(body.at("entries").at(1).at("payload").is_string());
    EXPECT_FALSE(body.at("entries").at(1).as_object().contains("withheld"));
}

TEST(ServerReplies, ReadsAnErrorWithAckedSeqAndMissingBlobs) {
    std::string sha(64, 'e');
    auto error = parse_error(R"({"error": {"code": "blob_missing", "message": "photos first",
                                 "acked_seq": 12, "missing_blobs": [")" +
                             sha + R"("]}})");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code, "blob_missing");
    EXPECT_EQ(error->message, "photos first");
    EXPECT_EQ(error->acked_seq, 12);
    EXPECT_EQ(error->missing_blobs, std::vector<std::string>{sha});
    // The extra members may also stand beside "error".
    auto beside = parse_error(R"({"error": {"code": "sequence_gap"}, "acked_seq": 4})");
    ASSERT_TRUE(beside);
    EXPECT_EQ(beside->acked_seq, 4);
}

TEST(ServerReplies, RefusesAnythingButTheProtocolsShapes) {
    for (const char* body :
         {"", "null", "[]", "{}", R"({"error": "x"})", R"({"error": {"code": 5}})",
          R"({"error": {"code": ""}})", R"({"error": {"code": "x", "acked_seq": -1}})",
          R"({"error": {"code": "x", "acked_seq": 1.0}})",
          R"({"error": {"code": "x", "missing_blobs": ["abc"]}})",
          R"({"error": {"code": "x", "missing_blobs": "abc"}})", "<html>"}) {
        EXPECT_FALSE(parse_error(body)) << body;
    }
    EXPECT_EQ(parse_acked_seq(R"({"acked_seq": 41, "server_time_ms": 1})"), 41);
    for (const char* body : {"", R"({"acked_seq": "41"})", R"({"acked_seq": 4.1})",
                             R"({"acked_seq": -2})", R"({"acked": 41})", "41"}) {
        EXPECT_FALSE(parse_acked_seq(body)) << body;
    }
}

TEST(ServerReplies, AnErrorMessageBecomesOneBoundedLine) {
    std::string long_text(2000, 'x');
    auto error =
        parse_error(R"({"error": {"code": "x", "message": "line\nbreak)" + long_text + R"("}})");
    ASSERT_TRUE(error);
    EXPECT_EQ(error->message.find('\n'), std::string::npos);
    EXPECT_EQ(error->message.size(), 512u);
}

TEST(RetryAfter, ReadsSecondsAndHttpDates) {
    EXPECT_EQ(parse_retry_after("1", 0), milliseconds(1000));
    EXPECT_EQ(parse_retry_after("0", 0), milliseconds(0));
    EXPECT_EQ(parse_retry_after("999999999", 0), milliseconds(86'400'000));
    EXPECT_EQ(parse_retry_after("99999999999999999999999", 0), milliseconds(86'400'000));
    // 1994-11-06T08:49:37Z is 784111777 s after the epoch.
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784'111'777'000 - 5000),
              milliseconds(5000));
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784'111'777'000 + 5000),
              milliseconds(0));
    for (const char* bad : {"", "-1", "1.5", "soon", "Sun, 06 Nov 1994 08:49:37 UTC",
                            "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT"}) {
        EXPECT_FALSE(parse_retry_after(bad, 0)) << bad;
    }
}

TEST(ByteCounts, AreDigitsOnly) {
    EXPECT_EQ(parse_byte_count("0"), 0u);
    EXPECT_EQ(parse_byte_count("4096"), 4096u);
    for (const char* bad : {"", "-1", "+1", " 1", "1 ", "0x10", "1e3", "99999999999999999999"}) {
        EXPECT_FALSE(parse_byte_count(bad)) << bad;
    }
}

TEST(PhotoBlob, ComesFromAPhotoPayloadsSha256) {
    std::string sha(64, 'a');
    EXPECT_EQ(photo_blob(R"({"id": "P-1", "sha256": ")" + sha + R"("})"), sha);
    EXPECT_FALSE(photo_blob(R"({"sha256": "ABC"})"));
    EXPECT_FALSE(photo_blob(R"({"sha256": ")" + std::string(64, 'A') + R"("})"));
    EXPECT_FALSE(photo_blob("not json"));
}

TEST(FullJitter, StaysWithinAGrowingCappedCeiling) {
    std::mt19937_64 random(7);
    for (int failures = 1; failures <= 12; ++failures) {
        std::int64_t ceiling = std::min<std::int64_t>(100 << (failures - 1), 2000);
        for (int i = 0; i < 200; ++i) {
            auto delay = full_jitter(failures, milliseconds(100), milliseconds(2000), random);
            EXPECT_GE(delay.count(), 0);
            EXPECT_LE(delay.count(), ceiling) << "failure " << failures;
        }
    }
    // Late failures spread over the whole capped range rather than bunching at the cap.
    std::int64_t low = 0;
    for (int i = 0; i < 1000; ++i) {
        if (full_jitter(30, milliseconds(100), milliseconds(2000), random).count() < 1000) ++low;
    }
    EXPECT_GT(low, 300);
    EXPECT_LT(low, 700);
}

}  // namespace
}  // namespace fieldlog::sync::client::wire
