#include "storage/error.hpp"

#include "storage/result.hpp"

namespace parley::storage {

std::string_view to_string(Error::Kind kind) noexcept {
  switch (kind) {
    case Error::Kind::Failed:
      return "failed";
    case Error::Kind::Busy:
      return "busy";
    case Error::Kind::Full:
      return "full";
    case Error::Kind::Corrupt:
      return "corrupt";
    case Error::Kind::SchemaTooNew:
      return "schema-too-new";
  }
  return "unknown";
}

std::string_view to_string(Result result) noexcept {
  switch (result) {
    case Result::Ok:
      return "ok";
    case Result::AlreadyExists:
      return "already-exists";
    case Result::NotFound:
      return "not-found";
    case Result::QuotaExceeded:
      return "quota-exceeded";
  }
  return "unknown";
}

}  // namespace parley::storage
