// storage::Error: the one exception the storage layer throws, for failures of the database
// itself (I/O, disk full, lock timeout, corruption, a schema from a newer Parley).
//
// Error policy of storage/: outcomes a caller must expect (an account that already exists or does
// not exist) are values (storage::Result); a database that cannot do its job throws Error. The
// storage worker catches what a job lets escape, so an Error never takes down a thread; the core
// turns it into a stanza error (RFC 6120 §8.3.3.18 internal-server-error, or
// resource-constraint for Kind::Full/Busy).
//
// Nothing here is specific to SQLite: a PostgreSQL implementation throws the same type.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace parley::storage {

class Error : public std::runtime_error {
 public:
  enum class Kind {
    Failed,        // anything not below
    Busy,          // another connection held a lock longer than the busy timeout; retryable
    Full,          // the disk (or a size quota) is full
    Corrupt,       // the file is not a database or is damaged
    SchemaTooNew,  // written by a newer Parley: refuse rather than guess
  };

  // `message` is the database's own message (shown as what()); `sql` the statement that failed,
  // empty when the failure was not a statement (opening the file, a schema check).
  Error(Kind kind, std::string message, std::string sql = {})
      : std::runtime_error(std::move(message)), kind_(kind), sql_(std::move(sql)) {}

  Kind kind() const noexcept { return kind_; }
  const std::string& sql() const noexcept { return sql_; }

 private:
  Kind kind_;
  std::string sql_;
};

std::string_view to_string(Error::Kind kind) noexcept;

}  // namespace parley::storage
