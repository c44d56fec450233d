#include "schema.hpp"

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <array>
#include <string_view>

#include "modic/storage/storage.hpp"

namespace modic::storage::schema {
namespace {

// Version 1: what was received.
constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE studies (
    study_uid          TEXT PRIMARY KEY,
    study_description  TEXT NOT NULL DEFAULT '',
    patient_id         TEXT NOT NULL DEFAULT '',
    mixed_patients     INTEGER NOT NULL DEFAULT 0,
    generation         INTEGER NOT NULL DEFAULT 0,
    first_received_at  INTEGER NOT NULL,
    last_received_at   INTEGER NOT NULL
);
CREATE TABLE series (
    series_uid         TEXT PRIMARY KEY,
    study_uid          TEXT NOT NULL REFERENCES studies(study_uid),
    modality           TEXT NOT NULL DEFAULT '',
    body_part          TEXT NOT NULL DEFAULT '',
    series_description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX series_by_study ON series(study_uid);
CREATE TABLE instances (
    sop_instance_uid    TEXT PRIMARY KEY,
    series_uid          TEXT NOT NULL,
    study_uid           TEXT NOT NULL REFERENCES studies(study_uid),
    sop_class_uid       TEXT NOT NULL,
    transfer_syntax_uid TEXT NOT NULL DEFAULT '',
    path                TEXT NOT NULL,
    size                INTEGER NOT NULL,
    checksum            INTEGER NOT NULL,
    calling_ae          TEXT NOT NULL DEFAULT '',
    patient_id          TEXT NOT NULL DEFAULT '',
    received_at         INTEGER NOT NULL
);
CREATE INDEX instances_by_study ON instances(study_uid);
CREATE INDEX instances_by_received ON instances(received_at);
)sql";

// Version 2: the work done on it (jobs, deliveries) and the instances kept apart (conflicts).
constexpr std::string_view kVersion2 = R"sql(
CREATE TABLE jobs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    study_uid           TEXT NOT NULL,
    study_generation    INTEGER NOT NULL,
    state               TEXT NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    last_error          TEXT NOT NULL DEFAULT '',
    reason              TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    sr_path             TEXT,
    sr_sop_instance_uid TEXT NOT NULL DEFAULT '',
    sr_series_uid       TEXT NOT NULL DEFAULT '',
    sr_sop_class_uid    TEXT NOT NULL DEFAULT '',
    sr_written_at       INTEGER,
    sr_deleted_at       INTEGER,
    findings_json       TEXT NOT NULL DEFAULT '',
    predecessor_job_id  INTEGER REFERENCES jobs(id)
);
CREATE INDEX jobs_by_state ON jobs(state);
CREATE INDEX jobs_by_study ON jobs(study_uid);
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id          INTEGER NOT NULL REFERENCES jobs(id),
    destination     TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    UNIQUE (job_id, destination)
);
CREATE INDEX deliveries_by_state ON deliveries(state, next_attempt_at);
CREATE TABLE conflicts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    sop_instance_uid    TEXT NOT NULL,
    study_uid           TEXT NOT NULL,
    series_uid          TEXT NOT NULL,
    sop_class_uid       TEXT NOT NULL,
    existing_study_uid  TEXT NOT NULL,
    existing_series_uid TEXT NOT NULL,
    calling_ae          TEXT NOT NULL DEFAULT '',
    path                TEXT NOT NULL,
    received_at         INTEGER NOT NULL
);
)sql";

constexpr std::array<std::string_view, kSchemaVersion> kSteps = {kVersion1, kVersion2};

}  // namespace

int user_version(sqlite::Database& db) {
    auto& statement = db.statement("PRAGMA user_version");
    statement.reset();
    const int version = statement.step() ? static_cast<int>(statement.integer(0)) : 0;
    statement.reset();
    return version;
}

void open_and_migrate(sqlite::Database& db) {
    db.exec("PRAGMA journal_mode = WAL");
    // Commits are made durable by Storage's sync rounds (syncfs covers the WAL), so SQLite need
    // not fsync each commit itself.
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    const int found = user_version(db);
    if (found > kSchemaVersion)
        throw StorageError(fmt::format("index {} has schema version {}, newer than this modic-node ({})",
                                       db.file().string(), found, kSchemaVersion));
    for (int version = found + 1; version <= kSchemaVersion; ++version) {
        sqlite::Transaction transaction(db);
        // Another process may have migrated between our read and the lock: re-read under it.
        if (user_version(db) >= version) continue;
        db.exec(kSteps[version - 1]);
        db.exec(fmt::format("PRAGMA user_version = {}", version));
        transaction.commit();
        spdlog::info("index {}: schema migrated to version {}", db.file().string(), version);
    }
}

}  // namespace modic::storage::schema
