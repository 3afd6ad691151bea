// The withheld entry form (docs/sync-protocol.md, "Batches"): an entry a device parked travels
// by its chain fields alone. The server checks its hash and links like any entry's, stores it
// without payload, leaves the records alone, acknowledges it so the entries behind it flow,
// shows it to supervisors, and takes the payload later if the device sends it after all.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <sstream>

#include "fieldlog/server/admin_app.hpp"
#include "fieldlog/server/sqlite_server_store.hpp"
#include "fieldlog/store/database.hpp"
#include "server_harness.hpp"

namespace fieldlog::server::testing {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Entry seq of body (a batch starting at first) sent as the device sends a parked entry.
void withhold(json::object& body, std::int64_t first, std::int64_t seq,
              const std::string& code = "bad_payload",
              const std::string& message = "payload.value: expected a number") {
    json::object& e = body["entries"].as_array()[static_cast<std::size_t>(seq - first)].as_object();
    e["payload"] = nullptr;
    e["withheld"] = json::object{{"code", code}, {"message", message}};
}

class WithheldTest : public ::testing::Test {
protected:
    WithheldTest() : chain_("handheld-01") {
        token_ = server_.enrol(chain_.device_id());
        chain_.append("inspection", "insp-1", inspection_record("insp-1", "site-7", 1000));
        chain_.append("measurement", "m-1", measurement_record("m-1", "insp-1", 2000));
        chain_.append("measurement", "m-2", measurement_record("m-2", "insp-1", 3000));
        chain_.append("measurement", "m-3", measurement_record("m-3", "insp-1", 4000));
        chain_.append("measurement", "m-4", measurement_record("m-4", "insp-1", 5000));
    }

    HttpReply post(const json::object& body) {
        return server_.post_batch(chain_.device_id(), token_, body);
    }
    // Entries first..last with entry 3 (measurement m-2) withheld.
    json::object batch_withholding_3(std::int64_t first, std::int64_t last) {
        json::object body = chain_.batch(first, last);
        withhold(body, first, 3);
        return body;
    }
    std::int64_t acked(const HttpReply& reply) {
        json::object o = parse_object(reply.body);
        return o.contains("acked_seq") ? o.at("acked_seq").as_int64() : -1;
    }
    json::object get(const std::string& target) {
        auto reply = server_.admin("GET", target);
        EXPECT_EQ(reply.status, 200) << target << ": " << reply.body;
        return parse_object(reply.body);
    }
    std::vector<std::string> measurement_ids() {
        std::vector<std::string> ids;
        json::object reply = get("/v1/records?kind=measurement");
        for (const auto& r : reply.at("records").as_array()) {
            ids.emplace_back(r.at("record_id").as_string());
        }
        return ids;
    }
    // (payload IS NULL, withheld_code) of one stored entry.
    std::pair<bool, std::string> stored(std::int64_t seq) {
        auto db = store::Database::open(server_.data_dir() / "server.db").value();
        auto* stmt = db.prepare(
                           "SELECT payload IS NULL, COALESCE(withheld_code, '') FROM entries "
                           "WHERE device_id = ?1 AND seq = ?2")
                         .value();
        stmt->bind(1, chain_.device_id()).bind(2, seq);
        std::pair<bool, std::string> out{false, "<no entry>"};
        if (stmt->step().value()) out = {stmt->int64(0) == 1, stmt->text(1)};
        stmt->reset();
        return out;
    }
    StoredCounts counts() { return stored_counts(server_.data_dir(), chain_.device_id()); }

    TestServer server_;
    DeviceChain chain_;
    std::string token_;
};

TEST_F(WithheldTest, WithheldEntryIsAcknowledgedAndStoredWithoutPayloadOrRecord) {
    auto reply = post(batch_withholding_3(1, 5));
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(acked(reply), 5);
    auto held = counts();
    EXPECT_EQ(held.entries, 5);
    EXPECT_EQ(held.records, 4);  // m-2 has no record: the server never saw it
    EXPECT_EQ(held.heads, 1);
    EXPECT_EQ(stored(3), std::pair(true, std::string("bad_payload")));
    EXPECT_EQ(stored(4), std::pair(false, std::string()));
    EXPECT_THAT(measurement_ids(), ElementsAre("m-1", "m-3", "m-4"));
}

TEST_F(WithheldTest, EntriesBehindAWithheldEntryFlowInLaterBatches) {
    // The device sends the withheld entry alone (as after isolating it), then the rest.
    ASSERT_EQ(post(chain_.batch(1, 2)).status, 200);
    auto alone = post(batch_withholding_3(3, 3));
    ASSERT_EQ(alone.status, 200) << alone.body;
    EXPECT_EQ(acked(alone), 3);
    auto rest = post(chain_.batch(4, 5));
    ASSERT_EQ(rest.status, 200) << rest.body;
    EXPECT_EQ(acked(rest), 5);
    EXPECT_EQ(counts().entries, 5);
    EXPECT_THAT(measurement_ids(), ElementsAre("m-1", "m-3", "m-4"));
}

TEST_F(WithheldTest, WithheldEntryWithAWrongEntryHashGets422) {
    json::object body = batch_withholding_3(1, 5);
    // payload_hash is what a withheld entry still commits to: altering it breaks entry_hash.
    body["entries"].as_array()[2].as_object()["payload_hash"] = to_hex(sha256("other payload"));
    auto reply = post(body);
    EXPECT_EQ(reply.status, 422) << reply.body;
    EXPECT_EQ(error_code(reply), "broken_chain");
    EXPECT_THAT(error_message(reply), HasSubstr("entry 3"));
    EXPECT_THAT(error_message(reply), HasSubstr("entry_hash"));
    EXPECT_EQ(acked(reply), 0);
    EXPECT_EQ(counts().entries, 0);
}

TEST_F(WithheldTest, WithheldEntryThatDoesNotLinkGets422) {
    // Inside the batch: a prev_hash naming nothing, entry_hash recomputed so only the link fails.
    json::object body = batch_withholding_3(1, 5);
    store::ChainEntry e = chain_.entry(3).entry;
    e.prev_hash = sha256("elsewhere");
    e.entry_hash = store::compute_entry_hash(e);
    json::object& third = body["entries"].as_array()[2].as_object();
    third["prev_hash"] = to_hex(e.prev_hash);
    third["entry_hash"] = to_hex(e.entry_hash);
    auto inside = post(body);
    EXPECT_EQ(inside.status, 422) << inside.body;
    EXPECT_EQ(error_code(inside), "broken_chain");
    EXPECT_THAT(error_message(inside), HasSubstr("entry 3"));
    EXPECT_EQ(counts().entries, 0);

    // First of its batch: it must link to the last entry the server holds.
    ASSERT_EQ(post(chain_.batch(1, 2)).status, 200);
    DeviceChain forked = chain_.fork(1);
    forked.append("measurement", "m-x", measurement_record("m-x", "insp-1", 9000));
    forked.append("measurement", "m-y", measurement_record("m-y", "insp-1", 9100));
    json::object diverged = forked.batch(3, 3);
    withhold(diverged, 3, 3);
    auto first = post(diverged);
    EXPECT_EQ(first.status, 422) << first.body;
    EXPECT_EQ(error_code(first), "broken_chain");
    EXPECT_THAT(error_message(first), HasSubstr("does not link to entry 2"));
    EXPECT_EQ(acked(first), 2);
    EXPECT_EQ(counts().entries, 2);
}

TEST_F(WithheldTest, MalformedWithheldFormsGet400AndStoreNothing) {
    struct Case {
        std::string name;
        std::function<void(json::object&)> spoil;
        std::string message;
    };
    std::vector<Case> cases{
        {"withheld with a payload",
         [](json::object& e) {
             e["withheld"] = json::object{{"code", "bad_payload"}, {"message", "x"}};
         },
         "entries[2].payload: a withheld entry is sent without its payload (null), got a string"},
        {"payload null without withheld", [](json::object& e) { e["payload"] = nullptr; },
         "entries[2].payload: null only with \"withheld\""},
        {"withheld not an object",
         [](json::object& e) {
             e["payload"] = nullptr;
             e["withheld"] = "bad_payload";
         },
         "entries[2].withheld: expected an object"},
        {"code not a string",
         [](json::object& e) {
             e["payload"] = nullptr;
             e["withheld"] = json::object{{"code", 400}, {"message", "x"}};
         },
         "entries[2].withheld.code: expected a string, got an integer"},
        {"message not a string",
         [](json::object& e) {
             e["payload"] = nullptr;
             e["withheld"] = json::object{{"code", "bad_payload"}, {"message", json::array{}}};
         },
         "entries[2].withheld.message: expected a string, got an array"},
        {"no code",
         [](json::object& e) {
             e["payload"] = nullptr;
             e["withheld"] = json::object{{"message", "x"}};
         },
         "entries[2].withheld.code: missing required field"},
        {"empty code",
         [](json::object& e) {
             e["payload"] = nullptr;
             e["withheld"] = json::object{{"code", ""}, {"message", "x"}};
         },
         "entries[2].withheld.code: expected 1 to 64 characters"},
        {"code with a newline",
         [](json::object& e) {
             e["payload"] = nullptr;
             e["withheld"] = json::object{{"code", "bad\npayload"}, {"message", "x"}};
         },
         "entries[2].withheld.code: expected 1 to 64 characters"},
        {"message too long",
         [](json::object& e) {
             e["payload"] = nullptr;
             e["withheld"] =
                 json::object{{"code", "bad_payload"}, {"message", std::string(4097, 'x')}};
         },
         "entries[2].withheld.message: expected at most 4096 bytes"},
    };
    for (const Case& c : cases) {
        json::object body = chain_.batch(1, 5);
        c.spoil(body["entries"].as_array()[2].as_object());
        auto reply = post(body);
        EXPECT_EQ(reply.status, 400) << c.name << ": " << reply.body;
        EXPECT_EQ(error_code(reply), "bad_request") << c.name;
        EXPECT_THAT(error_message(reply), HasSubstr(c.message)) << c.name;
    }
    // "withheld": null is no withholding: the entry needs its payload.
    json::object body = chain_.batch(1, 5);
    body["entries"].as_array()[2].as_object()["withheld"] = nullptr;
    EXPECT_EQ(post(body).status, 200);
    EXPECT_EQ(counts().records, 5);
}

TEST_F(WithheldTest, ReplayOfAWithheldEntryIsANoOp) {
    ASSERT_EQ(post(batch_withholding_3(1, 5)).status, 200);
    // The same batch again (a lost reply), then entry 3 withheld with another message: the
    // entry hash is the same, so nothing changes and the first reason stays.
    auto again = post(batch_withholding_3(1, 5));
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(acked(again), 5);
    json::object reworded = chain_.batch(3, 3);
    withhold(reworded, 3, 3, "too_large", "another reason");
    auto third = post(reworded);
    ASSERT_EQ(third.status, 200) << third.body;
    EXPECT_EQ(acked(third), 5);
    auto held = counts();
    EXPECT_EQ(held.entries, 5);
    EXPECT_EQ(held.distinct_seqs, 5);
    EXPECT_EQ(held.records, 4);
    EXPECT_EQ(stored(3), std::pair(true, std::string("bad_payload")));
    // An entry held with its payload sent again as withheld keeps its payload.
    json::object fourth = chain_.batch(4, 4);
    withhold(fourth, 4, 4);
    ASSERT_EQ(post(fourth).status, 200);
    EXPECT_EQ(stored(4), std::pair(false, std::string()));
    EXPECT_EQ(counts().records, 4);
}

TEST_F(WithheldTest, SupervisorsSeeWithheldEntries) {
    ASSERT_EQ(post(batch_withholding_3(1, 5)).status, 200);
    json::object devices = get("/v1/admin/devices");
    EXPECT_EQ(devices.at("devices").as_array().at(0).at("withheld_entries"), 1);

    json::object list = get("/v1/devices/handheld-01/withheld");
    EXPECT_EQ(list.at("withheld_entries"), 1);
    const json::array& entries = list.at("entries").as_array();
    ASSERT_EQ(entries.size(), 1u);
    const json::object& w = entries[0].as_object();
    EXPECT_EQ(w.at("seq"), 3);
    EXPECT_EQ(w.at("kind"), "measurement");
    EXPECT_EQ(w.at("record_id"), "m-2");
    EXPECT_EQ(w.at("action"), "put");
    EXPECT_EQ(w.at("code"), "bad_payload");
    EXPECT_EQ(w.at("message"), "payload.value: expected a number");
    EXPECT_EQ(w.at("received_ms"), base_time_ms);
    EXPECT_EQ(w.at("device_time_ms"), chain_.entry(3).entry.device_time_ms);
    EXPECT_TRUE(
        get("/v1/devices/handheld-01/withheld?after_seq=3").at("entries").as_array().empty());

    EXPECT_EQ(server_.admin("GET", "/v1/devices/nobody/withheld").status, 404);
    EXPECT_EQ(server_.admin("GET", "/v1/devices/handheld-01/withheld?limit=0").status, 400);
    EXPECT_EQ(server_.admin("GET", "/v1/devices/handheld-01/withheld?seq=3").status, 400);
    EXPECT_EQ(server_.send("GET", "/v1/devices/handheld-01/withheld", token_).status, 401);
    EXPECT_EQ(server_.admin("POST", "/v1/devices/handheld-01/withheld").status, 405);

    auto admin = [&](std::vector<std::string> args) {
        std::vector<std::string> full{"--server", server_.url(), "--token-file",
                                      server_.config().admin_token_file.string()};
        full.insert(full.end(), args.begin(), args.end());
        std::ostringstream out, err;
        int code = run_admin(full, out, err);
        EXPECT_EQ(code, 0) << err.str();
        return out.str();
    };
    std::string text = admin({"withheld", "handheld-01"});
    EXPECT_THAT(text, HasSubstr("handheld-01: 1 withheld entry"));
    EXPECT_THAT(text, HasSubstr("entry 3  measurement m-2  received 2026-"));
    EXPECT_THAT(text, HasSubstr("bad_payload: payload.value: expected a number"));
    json::object as_json = parse_object(admin({"--json", "withheld", "handheld-01"}));
    EXPECT_EQ(as_json.at("entries").as_array().size(), 1u);
    EXPECT_THAT(admin({"device", "list"}), HasSubstr("WITHHELD"));
}

TEST_F(WithheldTest, VerifyTreatsAWithheldEntryAsPresentWithoutPayload) {
    ASSERT_EQ(post(batch_withholding_3(1, 5)).status, 200);
    json::object ok = get("/v1/devices/handheld-01/verify");
    EXPECT_TRUE(ok.at("ok").as_bool()) << json::serialize(ok);
    EXPECT_EQ(ok.at("entries_checked"), 5);
    EXPECT_EQ(ok.at("withheld_entries"), 1);

    // Its fields are still checked: an altered payload_hash at rest is found.
    exec_on_database(server_.data_dir(),
                     "UPDATE entries SET payload_hash = zeroblob(32) WHERE seq = 3");
    json::object altered = get("/v1/devices/handheld-01/verify");
    EXPECT_FALSE(altered.at("ok").as_bool());
    EXPECT_THAT(json::serialize(altered.at("problems")),
                HasSubstr("entry 3 (measurement m-2): the stored fields do not match"));
}

TEST_F(WithheldTest, ResendWithItsPayloadFillsTheEntryIn) {
    ASSERT_EQ(post(batch_withholding_3(1, 5)).status, 200);
    server_.clock().now_ms += 60000;
    // A payload that is not the one the chain committed to is refused.
    json::object wrong = chain_.batch(3, 3);
    wrong["entries"].as_array()[0].as_object()["payload"] = R"({"id":"m-2","value":1})";
    auto refused = post(wrong);
    EXPECT_EQ(refused.status, 422) << refused.body;
    EXPECT_THAT(error_message(refused), HasSubstr("payload_hash"));
    EXPECT_TRUE(stored(3).first);

    auto filled = post(chain_.batch(3, 3));
    ASSERT_EQ(filled.status, 200) << filled.body;
    EXPECT_EQ(acked(filled), 5);
    EXPECT_EQ(stored(3), std::pair(false, std::string("bad_payload")));  // the reason stays
    EXPECT_THAT(measurement_ids(), ElementsAre("m-1", "m-2", "m-3", "m-4"));
    EXPECT_EQ(get("/v1/admin/devices").at("devices").as_array().at(0).at("withheld_entries"), 0);
    EXPECT_TRUE(get("/v1/devices/handheld-01/withheld").at("entries").as_array().empty());
    json::object verify = get("/v1/devices/handheld-01/verify");
    EXPECT_TRUE(verify.at("ok").as_bool()) << json::serialize(verify);
    EXPECT_EQ(verify.at("withheld_entries"), 0);
    auto held = counts();
    EXPECT_EQ(held.entries, 5);
    EXPECT_EQ(held.records, 5);
}

TEST_F(WithheldTest, FilledInEntryDoesNotOvertakeALaterVersionOfItsRecord) {
    // m-2 again at entry 6: the record's latest state is entry 6 whatever arrives for entry 3.
    chain_.append("measurement", "m-2", measurement_record("m-2", "insp-1", 3500));
    ASSERT_EQ(post(batch_withholding_3(1, 6)).status, 200);
    ASSERT_EQ(post(chain_.batch(3, 3)).status, 200);
    json::object records = get("/v1/records?kind=measurement");
    for (const auto& r : records.at("records").as_array()) {
        if (r.at("record_id") == "m-2") {
            EXPECT_EQ(r.at("seq"), 6);
        }
    }
    EXPECT_EQ(counts().records, 5);
}

TEST_F(WithheldTest, WithheldPhotoNeedsNoBlobButItsPayloadDoes) {
    std::string sha = to_hex(sha256("a photo never uploaded"));
    chain_.append("photo", "p-1", photo_record("p-1", "insp-1", sha, 22));
    json::object body = chain_.batch(1, 6);
    withhold(body, 1, 6, "blob_corrupt", "its photo file no longer matches its SHA-256");
    auto reply = post(body);
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(acked(reply), 6);
    auto fill = post(chain_.batch(6, 6));
    EXPECT_EQ(fill.status, 409) << fill.body;
    EXPECT_EQ(error_code(fill), "blob_missing");
    EXPECT_TRUE(stored(6).first);
}

// A database made before withheld entries existed (schema 1) is migrated in place: its entries,
// records and heads stay, and it takes withheld entries afterwards.
TEST(WithheldMigration, SchemaOneDatabaseIsMigratedKeepingEverything) {
    fieldlog::testing::TempDir dir;
    const auto path = dir.path() / "server.db";
    DeviceChain chain("old-01");
    chain.append("device_log", "1", log_record(1, 1, "boot"));
    chain.append("device_log", "2", log_record(2, 2, "tick"));
    {
        auto db = store::Database::open(path).value();
        ASSERT_TRUE(db.exec(R"sql(
CREATE TABLE devices (device_id TEXT PRIMARY KEY, token_sha256 BLOB NOT NULL, public_key BLOB,
    enrolled_ms INTEGER NOT NULL, revoked_ms INTEGER, acked_seq INTEGER NOT NULL DEFAULT 0,
    pending_entries INTEGER NOT NULL DEFAULT 0, pending_bytes INTEGER NOT NULL DEFAULT 0,
    last_sync_ms INTEGER);
CREATE TABLE entries (device_id TEXT NOT NULL REFERENCES devices (device_id),
    seq INTEGER NOT NULL, kind TEXT NOT NULL, record_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('put', 'delete')), payload_hash BLOB NOT NULL,
    prev_hash BLOB NOT NULL, entry_hash BLOB NOT NULL, device_time_ms INTEGER NOT NULL,
    gnss_time_ms INTEGER, received_ms INTEGER NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)) WITHOUT ROWID;
CREATE TABLE records (device_id TEXT NOT NULL, kind TEXT NOT NULL, record_id TEXT NOT NULL,
    seq INTEGER NOT NULL, action TEXT NOT NULL, site_id TEXT, time_ms INTEGER,
    PRIMARY KEY (device_id, kind, record_id),
    FOREIGN KEY (device_id, seq) REFERENCES entries (device_id, seq)) WITHOUT ROWID;
CREATE INDEX records_by_kind_time ON records (kind, time_ms);
CREATE INDEX records_by_site_time ON records (site_id, time_ms);
CREATE INDEX records_by_device_seq ON records (device_id, seq);
CREATE TABLE heads (device_id TEXT NOT NULL REFERENCES devices (device_id), seq INTEGER NOT NULL,
    entry_hash BLOB NOT NULL, signature BLOB NOT NULL, received_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, seq)) WITHOUT ROWID;
CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL,
    upload_offset INTEGER NOT NULL, complete INTEGER NOT NULL CHECK (complete IN (0, 1)),
    path TEXT NOT NULL, updated_ms INTEGER NOT NULL);
PRAGMA user_version = 1;
)sql"));
        auto* device = db.prepare(
                             "INSERT INTO devices (device_id, token_sha256, public_key, "
                             "enrolled_ms, acked_seq) VALUES ('old-01', ?1, ?2, 1, 1)")
                           .value();
        ASSERT_TRUE(device->bind_blob(1, sha256("t")).bind_blob(2, chain.key().public_key()).run());
        const store::OutboxEntry& e = chain.entry(1);
        auto* entry =
            db.prepare(
                  "INSERT INTO entries VALUES ('old-01', 1, 'device_log', '1', 'put', ?1, "
                  "?2, ?3, ?4, NULL, 5, ?5)")
                .value();
        ASSERT_TRUE(entry->bind_blob(1, e.entry.payload_hash)
                        .bind_blob(2, e.entry.prev_hash)
                        .bind_blob(3, e.entry.entry_hash)
                        .bind(4, e.entry.device_time_ms)
                        .bind(5, e.payload)
                        .run());
        ASSERT_TRUE(
            db.exec("INSERT INTO records VALUES ('old-01', 'device_log', '1', 1, 'put', "
                    "NULL, 1)"));
    }
    auto store = open_sqlite_server_store(path);
    ASSERT_TRUE(store) << store.error().message();
    auto entries = (*store)->entries("old-01", 0, 10).value();
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].payload, chain.entry(1).payload);
    EXPECT_FALSE(entries[0].withheld);
    EXPECT_EQ((*store)->records(RecordQuery{}).value().size(), 1u);

    Batch batch;
    batch.device_id = "old-01";
    batch.public_key = chain.key().public_key();
    IncomingEntry in;
    in.entry = chain.entry(2).entry;
    in.withheld = WithheldReason{"bad_payload", "refused"};
    batch.entries.push_back(in);
    batch.head.seq = 2;
    batch.head.entry_hash = in.entry.entry_hash;
    batch.head.signature = chain.key().sign(store::head_message("old-01", 2, in.entry.entry_hash));
    batch.received_ms = 7;
    auto result = (*store)->ingest(batch);
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(result->status, IngestStatus::accepted) << result->message;
    EXPECT_EQ(result->acked_seq, 2);
    auto withheld = (*store)->withheld("old-01", 0, 10).value();
    ASSERT_EQ(withheld.size(), 1u);
    EXPECT_EQ(withheld[0].reason.code, "bad_payload");
    EXPECT_EQ((*store)->device("old-01").value()->withheld_entries, 1);
    EXPECT_EQ((*store)->records(RecordQuery{}).value().size(), 1u);

    auto db = store::Database::open(path).value();
    auto* version = db.prepare("PRAGMA user_version").value();
    ASSERT_TRUE(version->step().value());
    EXPECT_EQ(version->int64(0), sqlite_server_schema_version());
    version->reset();
    auto* dangling = db.prepare("SELECT COUNT(*) FROM pragma_foreign_key_check").value();
    ASSERT_TRUE(dangling->step().value());
    EXPECT_EQ(dangling->int64(0), 0);
    dangling->reset();
}

}  // namespace
}  // namespace fieldlog::server::testing
