// The schema of Parley's SQLite database: every table of every store, as one ordered list of
// migration steps (database.hpp, Migration). The file's PRAGMA user_version is the number of steps
// applied. All stores share one file, so there is one list, not one per store.
//
// Adding a table or column: append a step at the end; never edit a released step. Tables that
// hold per-account data reference accounts(domain, username) ON DELETE CASCADE, so removing an
// account removes its data in the same transaction (see AccountStore::remove).
#pragma once

#include <filesystem>
#include <span>

#include "storage/database.hpp"

namespace parley::storage {

// The steps, oldest first.
std::span<const Migration> schema_migrations() noexcept;

// The version a file has after open_database(): schema_migrations().size().
std::int64_t schema_version() noexcept;

// Database::open(path, schema_migrations(), options). Throws Error (SchemaTooNew for a file from
// a newer Parley).
Database open_database(const std::filesystem::path& path, const DatabaseOptions& options = {});

}  // namespace parley::storage
