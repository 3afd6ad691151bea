// Batch ingest over HTTP against real device chains: exactly once, and nothing stored for any
// refusal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <thread>

#include "server_harness.hpp"

namespace fieldlog::server::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

class IngestTest : public ::testing::Test {
protected:
    IngestTest() : chain_("handheld-01") {
        token_ = server_.enrol(chain_.device_id());
        std::string inspection = "insp-1";
        chain_.append("inspection", inspection, inspection_record(inspection, "site-7", 1000));
        chain_.append("measurement", "m-1", measurement_record("m-1", inspection, 2000));
        chain_.append("measurement", "m-2", measurement_record("m-2", inspection, 3000),
                      base_time_ms + 17);
        for (int i = 3; i <= 8; ++i) {
            std::string id = "m-" + std::to_string(i);
            chain_.append("measurement", id, measurement_record(id, inspection, 1000 * i));
        }
    }

    HttpReply post(const json::object& body, const std::string& token) {
        return server_.post_batch(chain_.device_id(), token, body);
    }
    HttpReply post(std::int64_t first, std::int64_t last) {
        return post(chain_.batch(first, last), token_);
    }
    std::int64_t acked(const HttpReply& reply) {
        json::object o = parse_object(reply.body);
        return o.contains("acked_seq") ? o.at("acked_seq").as_int64() : -1;
    }
    StoredCounts counts() { return stored_counts(server_.data_dir(), chain_.device_id()); }

    TestServer server_;
    DeviceChain chain_;
    std::string token_;
};

TEST_F(IngestTest, AcceptsBatchAndAcknowledgesItsLastSeq) {
    auto reply = post(1, 3);
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(acked(reply), 3);
    EXPECT_EQ(parse_object(reply.body).at("server_time_ms").as_int64(), base_time_ms);
    auto stored = counts();
    EXPECT_EQ(stored.entries, 3);
    EXPECT_EQ(stored.records, 3);
    EXPECT_EQ(stored.heads, 1);
}

TEST_F(IngestTest, ReplayedBatchIsAcceptedWithoutSecondCopy) {
    ASSERT_EQ(post(1, 3).status, 200);
    auto again = post(1, 3);
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(acked(again), 3);
    auto stored = counts();
    EXPECT_EQ(stored.entries, 3);
    EXPECT_EQ(stored.distinct_seqs, 3);
    EXPECT_EQ(stored.records, 3);
    EXPECT_EQ(stored.heads, 1);
}

TEST_F(IngestTest, NextBatchExtendsTheChain) {
    ASSERT_EQ(post(1, 3).status, 200);
    auto next = post(4, 6);
    ASSERT_EQ(next.status, 200) << next.body;
    EXPECT_EQ(acked(next), 6);
    EXPECT_EQ(counts().entries, 6);
    EXPECT_EQ(counts().heads, 2);
}

TEST_F(IngestTest, BatchOverlappingHeldEntriesStoresOnlyTheNewOnes) {
    ASSERT_EQ(post(1, 3).status, 200);
    auto overlap = post(2, 5);
    ASSERT_EQ(overlap.status, 200) << overlap.body;
    EXPECT_EQ(acked(overlap), 5);
    EXPECT_EQ(counts().entries, 5);
    EXPECT_EQ(counts().distinct_seqs, 5);
}

TEST_F(IngestTest, SequenceGapGets409WithAckedSeqAndStoresNothing) {
    ASSERT_EQ(post(1, 3).status, 200);
    auto gap = post(5, 6);
    EXPECT_EQ(gap.status, 409);
    EXPECT_EQ(error_code(gap), "sequence_gap");
    EXPECT_EQ(acked(gap), 3);
    EXPECT_THAT(error_message(gap), HasSubstr("next must be 4"));
    EXPECT_EQ(counts().entries, 3);
}

TEST_F(IngestTest, FirstBatchMustStartAtSeqOne) {
    auto gap = post(2, 3);
    EXPECT_EQ(gap.status, 409);
    EXPECT_EQ(error_code(gap), "sequence_gap");
    EXPECT_EQ(acked(gap), 0);
    EXPECT_EQ(counts().entries, 0);
}

TEST_F(IngestTest, EntryNotLinkingToTheHeldChainGets422NamingIt) {
    ASSERT_EQ(post(1, 3).status, 200);
    // The device diverged after entry 2: its entries 3' and 4' form another chain.
    DeviceChain forked = chain_.fork(2);
    forked.append("measurement", "m-x", measurement_record("m-x", "insp-1", 9000));
    forked.append("measurement", "m-y", measurement_record("m-y", "insp-1", 9100));
    auto reply = post(forked.batch(4, 4), token_);
    EXPECT_EQ(reply.status, 422) << reply.body;
    EXPECT_EQ(error_code(reply), "broken_chain");
    EXPECT_THAT(error_message(reply), HasSubstr("entry 4"));
    EXPECT_EQ(acked(reply), 3);
    EXPECT_EQ(counts().entries, 3);
}

TEST_F(IngestTest, BrokenLinkInsideBatchGets422NamingTheEntry) {
    json::object body = chain_.batch(1, 3);
    json::object& second = body["entries"].as_array()[1].as_object();
    // A prev_hash that names nothing, with the entry hash recomputed so only the link is wrong.
    store::ChainEntry e = chain_.entry(2).entry;
    e.prev_hash = sha256("elsewhere");
    e.entry_hash = store::compute_entry_hash(e);
    second["prev_hash"] = to_hex(e.prev_hash);
    second["entry_hash"] = to_hex(e.entry_hash);
    auto reply = post(body, token_);
    EXPECT_EQ(reply.status, 422);
    EXPECT_EQ(error_code(reply), "broken_chain");
    EXPECT_THAT(error_message(reply), HasSubstr("entry 2"));
    EXPECT_EQ(counts().entries, 0);
}

TEST_F(IngestTest, TamperedPayloadGets422) {
    json::object body = chain_.batch(1, 3);
    json::object& third = body["entries"].as_array()[2].as_object();
    std::string payload(third["payload"].as_string());
    payload.replace(payload.find("COD"), 3, "BOD");
    third["payload"] = payload;
    auto reply = post(body, token_);
    EXPECT_EQ(reply.status, 422);
    EXPECT_EQ(error_code(reply), "broken_chain");
    EXPECT_THAT(error_message(reply), HasSubstr("entry 3"));
    EXPECT_THAT(error_message(reply), HasSubstr("payload_hash"));
    EXPECT_EQ(counts().entries, 0);
}

TEST_F(IngestTest, AlteredEntryFieldGets422) {
    json::object body = chain_.batch(1, 3);
    body["entries"].as_array()[0].as_object()["device_time_ms"] = base_time_ms - 86400000;
    auto reply = post(body, token_);
    EXPECT_EQ(reply.status, 422);
    EXPECT_THAT(error_message(reply), HasSubstr("entry_hash"));
    EXPECT_EQ(counts().entries, 0);
}

TEST_F(IngestTest, HeadSignedByAnotherKeyGets422) {
    auto other = store::DeviceKey::generate().value();
    auto reply = post(chain_.batch_signed_by(other, 1, 3), token_);
    EXPECT_EQ(reply.status, 422);
    EXPECT_EQ(error_code(reply), "broken_chain");
    EXPECT_THAT(error_message(reply), HasSubstr("signature"));
    EXPECT_EQ(counts().entries, 0);
}

TEST_F(IngestTest, HeadNotNamingTheLastEntryGets422) {
    json::object body = chain_.batch(1, 3);
    body["head"].as_object()["seq"] = 2;
    auto reply = post(body, token_);
    EXPECT_EQ(reply.status, 422);
    EXPECT_EQ(counts().entries, 0);
}

TEST_F(IngestTest, BatchUnderAnotherPublicKeyGets403) {
    ASSERT_EQ(post(1, 3).status, 200);
    // Same device id, a new key (a reflashed device, or an impostor with the token).
    DeviceChain impostor(chain_.device_id());
    for (int i = 1; i <= 4; ++i) {
        impostor.append("device_log", std::to_string(i), log_record(i, 1000 * i, "boot"));
    }
    auto reply = post(impostor.batch(4, 4), token_);
    EXPECT_EQ(reply.status, 403) << reply.body;
    EXPECT_EQ(error_code(reply), "key_mismatch");
    EXPECT_EQ(counts().entries, 3);
}

TEST_F(IngestTest, KeyPinnedAtEnrolmentIsEnforcedOnFirstBatch) {
    DeviceChain pinned("handheld-02");
    DeviceChain other("handheld-02");
    auto enrolled =
        server_.admin("POST", "/v1/admin/devices",
                      json::serialize(json::object{{"device_id", "handheld-02"},
                                                   {"public_key", pinned.public_key_hex()}}));
    ASSERT_EQ(enrolled.status, 201);
    std::string token(parse_object(enrolled.body).at("token").as_string());
    other.append("device_log", "1", log_record(1, 1, "boot"));
    pinned.append("device_log", "1", log_record(1, 1, "boot"));
    auto refused = server_.post_batch("handheld-02", token, other.batch(1, 1));
    EXPECT_EQ(refused.status, 403);
    auto accepted = server_.post_batch("handheld-02", token, pinned.batch(1, 1));
    EXPECT_EQ(accepted.status, 200) << accepted.body;
}

TEST_F(IngestTest, ReplayWithDifferentContentGets409) {
    ASSERT_EQ(post(1, 3).status, 200);
    DeviceChain forked = chain_.fork(1);
    forked.append("measurement", "m-2", measurement_record("m-2", "insp-1", 2222));
    forked.append("measurement", "m-3", measurement_record("m-3", "insp-1", 3333));
    auto reply = post(forked.batch(1, 3), token_);
    EXPECT_EQ(reply.status, 409) << reply.body;
    EXPECT_EQ(error_code(reply), "replay_mismatch");
    EXPECT_THAT(error_message(reply), HasSubstr("entry 2"));
    EXPECT_EQ(acked(reply), 3);
    EXPECT_EQ(counts().entries, 3);
}

TEST_F(IngestTest, ChainOfAnotherDeviceIdIsRefused) {
    std::string other_token = server_.enrol("handheld-09");
    // A chain's first entry commits to its device id through the genesis hash.
    auto reply = server_.post_batch("handheld-09", other_token, chain_.batch(1, 2));
    EXPECT_EQ(reply.status, 422);
    EXPECT_THAT(error_message(reply), HasSubstr("genesis"));
    EXPECT_EQ(stored_counts(server_.data_dir(), "handheld-09").entries, 0);
}

TEST_F(IngestTest, WrongOrMissingCredentialGets401AndStoresNothing) {
    std::string other_token = server_.enrol("handheld-03");
    for (const std::string& token :
         {std::string(), std::string("not-a-token"), other_token, server_.admin_token()}) {
        auto reply = post(chain_.batch(1, 3), token);
        EXPECT_EQ(reply.status, 401) << "token '" << token << "'";
        EXPECT_EQ(error_code(reply), "unauthorized");
    }
    auto unknown = server_.post_batch("never-enrolled", token_, chain_.batch(1, 3));
    EXPECT_EQ(unknown.status, 401);
    EXPECT_EQ(counts().entries, 0);
    EXPECT_EQ(stored_counts(server_.data_dir(), "never-enrolled").entries, 0);
}

TEST_F(IngestTest, RevokedDeviceGets401AndStoresNothing) {
    ASSERT_EQ(post(1, 3).status, 200);
    auto revoked = server_.admin("POST", "/v1/admin/devices/handheld-01/revoke");
    ASSERT_EQ(revoked.status, 200) << revoked.body;
    auto reply = post(4, 6);
    EXPECT_EQ(reply.status, 401);
    EXPECT_EQ(counts().entries, 3);
}

TEST_F(IngestTest, MalformedJsonGets400) {
    auto reply = server_.send("POST", "/v1/devices/handheld-01/batches", token_,
                              R"({"public_key": "ab", "entries": [)");
    EXPECT_EQ(reply.status, 400);
    EXPECT_EQ(error_code(reply), "bad_json");
    EXPECT_EQ(counts().entries, 0);
}

struct BadBody {
    std::string name;
    std::function<void(json::object&)> spoil;
    std::string code;
    std::string message;
};

TEST_F(IngestTest, WrongTypesAndMissingFieldsGet400WithTheField) {
    std::vector<BadBody> cases{
        {"no head", [](json::object& b) { b.erase("head"); }, "bad_request",
         "head: missing required field"},
        {"no entries", [](json::object& b) { b.erase("entries"); }, "bad_request",
         "entries: missing required field"},
        {"seq as text",
         [](json::object& b) { b["entries"].as_array()[1].as_object()["seq"] = "2"; },
         "bad_request", "entries[1].seq: expected an integer, got a string"},
        {"fractional time",
         [](json::object& b) { b["entries"].as_array()[0].as_object()["device_time_ms"] = 1.5; },
         "bad_request", "entries[0].device_time_ms: expected an integer"},
        {"short key", [](json::object& b) { b["public_key"] = "abcd"; }, "bad_request",
         "public_key: expected 64 hex digits"},
        {"entries not a list", [](json::object& b) { b["entries"] = json::object{}; },
         "bad_request", "entries: expected an array, got an object"},
        {"entry not an object", [](json::object& b) { b["entries"].as_array()[0] = 7; },
         "bad_request", "entries[0]: expected an object"},
        {"missing payload",
         [](json::object& b) { b["entries"].as_array()[2].as_object().erase("payload"); },
         "bad_request", "entries[2].payload: missing required field"},
        {"unknown action",
         [](json::object& b) { b["entries"].as_array()[0].as_object()["action"] = "drop"; },
         "bad_request", "entries[0].action"},
        {"empty batch", [](json::object& b) { b["entries"] = json::array{}; }, "bad_request",
         "at least one entry"},
        {"out of order",
         [](json::object& b) {
             auto& list = b["entries"].as_array();
             std::swap(list[1], list[2]);
         },
         "bad_request", "ascending and contiguous"},
        {"payload not an object",
         [](json::object& b) { b["entries"].as_array()[0].as_object()["payload"] = "[1,2]"; },
         "bad_payload", "not a JSON object"},
        {"head signature not hex",
         [](json::object& b) { b["head"].as_object()["signature"] = std::string(128, 'z'); },
         "bad_request", "head.signature: expected 128 hex digits"},
    };
    for (const BadBody& c : cases) {
        json::object body = chain_.batch(1, 3);
        c.spoil(body);
        auto reply = post(body, token_);
        EXPECT_EQ(reply.status, 400) << c.name << ": " << reply.body;
        EXPECT_EQ(error_code(reply), c.code) << c.name;
        EXPECT_THAT(error_message(reply), HasSubstr(c.message)) << c.name;
    }
    auto not_object = server_.send("POST", "/v1/devices/handheld-01/batches", token_, "[1]");
    EXPECT_EQ(not_object.status, 400);
    EXPECT_EQ(counts().entries, 0);
}

TEST_F(IngestTest, BatchMustBeSentAsJson) {
    HttpHeaders headers{{"Authorization", "Bearer " + token_}, {"Content-Type", "text/plain"}};
    auto reply = server_.client()
                     .request("POST", "/v1/devices/handheld-01/batches", headers,
                              json::serialize(chain_.batch(1, 1)))
                     .value();
    EXPECT_EQ(reply.status, 415);
    EXPECT_EQ(counts().entries, 0);
}

TEST_F(IngestTest, BatchOfMoreThanAThousandEntriesIsRefused) {
    DeviceChain big("handheld-04");
    std::string token = server_.enrol("handheld-04");
    for (int i = 1; i <= 1001; ++i) {
        big.append("device_log", std::to_string(i), log_record(i, i, "tick"));
    }
    auto reply = server_.post_batch("handheld-04", token, big.batch(1, 1001));
    EXPECT_EQ(reply.status, 400);
    EXPECT_THAT(error_message(reply), HasSubstr("1000"));
    auto fits = server_.post_batch("handheld-04", token, big.batch(1, 1000));
    EXPECT_EQ(fits.status, 200) << fits.body;
    EXPECT_EQ(acked(fits), 1000);
}

TEST_F(IngestTest, DevicesSyncingAtOnceAreAllStoredExactlyOnce) {
    constexpr int devices = 4;
    constexpr int batches = 8;
    std::vector<std::thread> threads;
    std::vector<int> failures(devices, 0);
    for (int d = 0; d < devices; ++d) {
        std::string id = "burst-" + std::to_string(d);
        std::string token = server_.enrol(id);
        threads.emplace_back([this, d, id, token, &failures] {
            DeviceChain chain(id);
            for (int b = 0; b < batches; ++b) {
                std::int64_t first = chain.last_seq() + 1;
                for (int i = 0; i < 5; ++i) {
                    std::int64_t n = chain.last_seq() + 1;
                    chain.append("device_log", std::to_string(n), log_record(n, n, "burst"));
                }
                // Every batch goes twice: the second is the retry after a lost reply.
                for (int attempt = 0; attempt < 2; ++attempt) {
                    auto reply =
                        server_.post_batch(id, token, chain.batch(first, chain.last_seq()));
                    if (reply.status != 200 || acked(reply) != chain.last_seq()) ++failures[d];
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    for (int d = 0; d < devices; ++d) {
        EXPECT_EQ(failures[d], 0) << "device " << d;
        auto stored = stored_counts(server_.data_dir(), "burst-" + std::to_string(d));
        EXPECT_EQ(stored.entries, batches * 5);
        EXPECT_EQ(stored.distinct_seqs, batches * 5);
        EXPECT_EQ(stored.heads, batches);
    }
}

}  // namespace
}  // namespace fieldlog::server::testing
