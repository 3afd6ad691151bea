#include "fieldlog/store/schema.hpp"

#include <array>
#include <string>

namespace fieldlog::store {

namespace {

// Released migrations are never edited: a device in the field may hold any of them.
constexpr std::array migrations{
    Migration{1, "device identity, evidence chain, outbox, inspections, measurements", R"sql(
CREATE TABLE device (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    device_id TEXT NOT NULL,
    public_key BLOB NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE evidence_chain (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('put', 'delete')),
    payload_hash BLOB NOT NULL,
    prev_hash BLOB NOT NULL,
    entry_hash BLOB NOT NULL,
    device_time_ms INTEGER NOT NULL,
    gnss_time_ms INTEGER
);
CREATE INDEX evidence_chain_by_record ON evidence_chain (kind, record_id);
CREATE TABLE chain_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    entry_hash BLOB NOT NULL,
    signature BLOB NOT NULL
);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY REFERENCES evidence_chain (seq),
    payload TEXT NOT NULL
);
CREATE TABLE inspections (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    site_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    inspectors TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    started_ms INTEGER NOT NULL,
    closed_ms INTEGER,
    gnss_time_ms INTEGER,
    lat REAL,
    lon REAL,
    notes TEXT NOT NULL,
    verdict TEXT NOT NULL,
    last_seq INTEGER NOT NULL
);
CREATE INDEX inspections_by_start ON inspections (started_ms);
CREATE TABLE measurements (
    id TEXT PRIMARY KEY,
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    parameter TEXT NOT NULL,
    value REAL NOT NULL,
    unit TEXT NOT NULL,
    entered_value REAL NOT NULL,
    entered_unit TEXT NOT NULL,
    sampling_point TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('field', 'online', 'lab')),
    lab_sample_id TEXT,
    water_temp_c REAL,
    limit_min REAL,
    limit_max REAL,
    limit_source TEXT NOT NULL,
    verdict TEXT NOT NULL,
    exceedance_ratio REAL,
    note TEXT NOT NULL,
    device_time_ms INTEGER NOT NULL,
    gnss_time_ms INTEGER,
    lat REAL,
    lon REAL,
    last_seq INTEGER NOT NULL
);
CREATE INDEX measurements_by_inspection ON measurements (inspection_id);
)sql"},
    Migration{2, "evidence photos and their content-addressed blobs", R"sql(
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    stored_ms INTEGER NOT NULL
);
CREATE TABLE photos (
    id TEXT PRIMARY KEY,
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    size INTEGER NOT NULL,
    original_name TEXT NOT NULL,
    caption TEXT NOT NULL,
    tags TEXT NOT NULL,
    capture_time_ms INTEGER,
    capture_time_text TEXT,
    exif_lat REAL,
    exif_lon REAL,
    exif_altitude_m REAL,
    width INTEGER,
    height INTEGER,
    warnings TEXT NOT NULL,
    device_time_ms INTEGER NOT NULL,
    gnss_time_ms INTEGER,
    lat REAL,
    lon REAL,
    last_seq INTEGER NOT NULL
);
CREATE INDEX photos_by_inspection ON photos (inspection_id);
CREATE INDEX photos_by_hash ON photos (sha256);
)sql"},
    Migration{3, "complaints, document hand-overs and rectification items", R"sql(
CREATE TABLE complaints (
    case_number TEXT PRIMARY KEY,
    batch_number INTEGER NOT NULL,
    summary TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    forwarded_ms INTEGER,
    responsible_unit TEXT NOT NULL,
    status TEXT NOT NULL,
    finding TEXT,
    inspection_ids TEXT NOT NULL,
    notes TEXT NOT NULL,
    device_time_ms INTEGER NOT NULL,
    last_seq INTEGER NOT NULL
);
CREATE TABLE document_batches (
    batch_number INTEGER PRIMARY KEY,
    items INTEGER NOT NULL,
    documents INTEGER NOT NULL,
    topics TEXT NOT NULL,
    handed_over_ms INTEGER NOT NULL,
    notes TEXT NOT NULL,
    device_time_ms INTEGER NOT NULL,
    last_seq INTEGER NOT NULL
);
CREATE TABLE rectifications (
    id TEXT PRIMARY KEY,
    problem TEXT NOT NULL,
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    responsible_party TEXT NOT NULL,
    deadline_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    verified_inspection_id TEXT REFERENCES inspections (id),
    verified_ms INTEGER,
    notes TEXT NOT NULL,
    device_time_ms INTEGER NOT NULL,
    last_seq INTEGER NOT NULL
);
CREATE INDEX rectifications_by_deadline ON rectifications (status, deadline_ms);
)sql"},
    Migration{4, "the daemon's own device log", R"sql(
CREATE TABLE device_log (
    id INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    level TEXT NOT NULL,
    event TEXT NOT NULL,
    message TEXT NOT NULL,
    last_seq INTEGER NOT NULL
);
)sql"},
    Migration{5, "outbox entries the server refused for good, parked by the uploader", R"sql(
CREATE TABLE parked_entries (
    seq INTEGER PRIMARY KEY REFERENCES evidence_chain (seq),
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    parked_ms INTEGER NOT NULL,
    http_status INTEGER NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    payload TEXT NOT NULL
);
)sql"},
    // Reference data the office published (docs/sync-protocol.md), replaced whole by each newer
    // version in one transaction; reference_version names the version the tables hold. While
    // it has no row the config files' sites and standards are in use.
    Migration{6, "reference data downloaded from the office: sites, limits, assigned complaints",
              R"sql(
CREATE TABLE reference_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL CHECK (version > 0),
    sha256 TEXT NOT NULL,
    published_ms INTEGER NOT NULL,
    applied_ms INTEGER NOT NULL
);
CREATE TABLE reference_standards (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL
);
CREATE TABLE reference_sites (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    lat REAL,
    lon REAL,
    permit_number TEXT NOT NULL,
    standard_id TEXT REFERENCES reference_standards (id),
    built_ms INTEGER
);
CREATE TABLE reference_limits (
    owner TEXT NOT NULL CHECK (owner IN ('standard', 'site')),
    owner_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    parameter TEXT NOT NULL,
    min REAL,
    max REAL,
    max_cold REAL,
    built_from_ms INTEGER,
    built_before_ms INTEGER,
    PRIMARY KEY (owner, owner_id, position)
);
CREATE TABLE reference_complaints (
    case_number TEXT PRIMARY KEY,
    batch_number INTEGER NOT NULL,
    summary TEXT NOT NULL,
    received_ms INTEGER,
    responsible_unit TEXT NOT NULL,
    site_id TEXT REFERENCES reference_sites (id)
);
)sql"},
    // A mark is a waypoint in an inspection: the device's button held down, or `fieldlog mark`.
    // source is checked by the operation, not here, so a new source needs no migration.
    Migration{7, "marks: waypoints in an inspection, with position and time", R"sql(
CREATE TABLE marks (
    id TEXT PRIMARY KEY,
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    label TEXT NOT NULL,
    source TEXT NOT NULL,
    device_time_ms INTEGER NOT NULL,
    gnss_time_ms INTEGER,
    lat REAL,
    lon REAL,
    last_seq INTEGER NOT NULL
);
CREATE INDEX marks_by_inspection ON marks (inspection_id);
)sql"},
    // The head is signed lazily (store.hpp), so the signed head may trail the chain: the table
    // keeps only the newest signature, and chain_head becomes a view whose seq and entry_hash
    // are the chain's newest entry, derived rather than written on every commit. A head signed
    // under an older version names the last entry it had; verify reads it unchanged.
    Migration{8, "the chain head is signed lazily: signed_head table, chain_head view", R"sql(
ALTER TABLE chain_head RENAME TO signed_head;
CREATE VIEW chain_head (id, seq, entry_hash, signed_seq, signature) AS
SELECT 1,
       COALESCE((SELECT MAX(seq) FROM evidence_chain), 0),
       COALESCE((SELECT entry_hash FROM evidence_chain ORDER BY seq DESC LIMIT 1), s.entry_hash),
       s.seq,
       s.signature
FROM signed_head s
WHERE s.id = 1;
)sql"},
};

}  // namespace

std::span<const Migration> device_migrations() { return migrations; }

int latest_schema_version() { return migrations.back().version; }

Result<int> schema_version(Database& db) {
    auto stmt = db.prepare("PRAGMA user_version");
    if (!stmt) {
        return stmt.error();
    }
    auto row = (*stmt)->step();
    if (!row) {
        return row.error();
    }
    int version = static_cast<int>((*stmt)->int64(0));
    (*stmt)->reset();
    return version;
}

Status migrate(Database& db, int target_version) {
    if (target_version == 0) {
        target_version = latest_schema_version();
    }
    auto current = schema_version(db);
    if (!current) {
        return current.error();
    }
    if (*current > latest_schema_version()) {
        return Error(Errc::unavailable,
                     "database " + db.path().string() + " has schema version " +
                         std::to_string(*current) + ", newer than this fieldlog knows (" +
                         std::to_string(latest_schema_version()) + "); upgrade fieldlog");
    }
    for (const Migration& m : migrations) {
        if (m.version <= *current || m.version > target_version) {
            continue;
        }
        auto tx = Transaction::begin(db);
        if (!tx) {
            return tx.error();
        }
        if (auto applied = db.exec(m.sql); !applied) {
            return Error(applied.error()).context("schema migration " + std::to_string(m.version));
        }
        // PRAGMA takes no bound parameters; the version is a constant from this file.
        if (auto set = db.exec("PRAGMA user_version = " + std::to_string(m.version)); !set) {
            return set.error();
        }
        if (auto committed = tx->commit(); !committed) {
            return committed.error();
        }
    }
    return {};
}

}  // namespace fieldlog::store
