#include "core/sasl/saslprep.hpp"

namespace parley::core::sasl {

std::optional<std::string> saslprep(std::string_view in, Unassigned unassigned) {
  return stringprep(in, StringprepProfile::Saslprep, unassigned);
}

}  // namespace parley::core::sasl
