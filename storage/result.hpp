// storage::Result: the expected outcomes of a store operation, as a value.
//
// These are the outcomes a caller must handle (an XMPP client registering a taken name, an admin
// deleting a user who is gone, a full offline store); failures of the database itself are
// storage::Error exceptions (see error.hpp).
#pragma once

#include <string_view>

namespace parley::storage {

enum class Result {
  Ok,
  AlreadyExists,  // create() of something that exists
  NotFound,       // an update or removal of something that does not exist
  QuotaExceeded,  // a write that would take a per-account quota past its limit; nothing written
};

std::string_view to_string(Result result) noexcept;

}  // namespace parley::storage
