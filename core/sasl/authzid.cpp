#include "core/sasl/authzid.hpp"

#include "core/jid.hpp"

namespace parley::core::sasl {

bool authzid_allowed(std::string_view authzid, std::string_view username, std::string_view domain) {
  if (authzid.empty()) return true;
  const auto requested = Jid::parse(authzid);
  const auto own = Jid::from_parts(username, domain);
  return requested && own && own->has_local() && *requested == *own;
}

}  // namespace parley::core::sasl
