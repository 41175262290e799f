#include "core/jid.hpp"

#include <arpa/inet.h>
#include <idn-free.h>
#include <idna.h>

#include <array>
#include <ostream>

#include "core/sasl/stringprep.hpp"

namespace parley::core {
namespace {

using sasl::StringprepProfile;
using sasl::Unassigned;

// Bounds the work done on a hostile part before preparation; preparation can shrink a string
// (characters mapped to nothing), so the real limit is checked afterwards.
constexpr std::size_t kMaxInputBytes = 4 * Jid::kMaxPartBytes;
constexpr std::size_t kMaxLabelBytes = 63;  // RFC 1035 §2.3.4, for the ASCII form

void set(JidError* out, JidError error) {
  if (out != nullptr) *out = error;
}

std::optional<std::string> prepare(std::string_view part, StringprepProfile profile, bool stored) {
  if (part.empty() || part.size() > kMaxInputBytes) return std::nullopt;
  auto out = sasl::stringprep(part, profile, stored ? Unassigned::Refuse : Unassigned::Allow);
  if (!out || out->empty() || out->size() > Jid::kMaxPartBytes) return std::nullopt;
  return out;
}

std::optional<std::string> prepare_ipv6_literal(std::string_view literal) {
  // RFC 7622 §3.2 allows an IP-literal (RFC 3986 §3.2.2) without the IPvFuture form.
  if (literal.size() < 3 || literal.back() != ']') return std::nullopt;
  const std::string address(literal.substr(1, literal.size() - 2));
  std::array<unsigned char, 16> binary{};
  if (inet_pton(AF_INET6, address.c_str(), binary.data()) != 1) return std::nullopt;
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (inet_ntop(AF_INET6, binary.data(), text.data(), text.size()) == nullptr) return std::nullopt;
  return "[" + std::string(text.data()) + "]";
}

bool label_ok(std::string_view label) {
  if (label.empty()) return false;
  bool ascii = true;
  for (char ch : label) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80) {
      ascii = false;
      continue;
    }
    // Nameprep allows all of ASCII, but a host name does not (RFC 1123 §2.1, RFC 7622 §3.2.1 via
    // IDNA2008's LDH rule); '_' is tolerated because deployed (internal) names use it.
    const bool ldh = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ldh) return false;
  }
  if (ascii) return label.size() <= kMaxLabelBytes;
  // The punycode form must fit a DNS label too; idna_to_ascii_8z reports IDNA_INVALID_LENGTH.
  const std::string copy(label);
  char* ace = nullptr;
  const int rc = idna_to_ascii_8z(copy.c_str(), &ace, IDNA_ALLOW_UNASSIGNED);
  idn_free(ace);
  return rc == IDNA_SUCCESS;
}

}  // namespace

std::string_view to_string(JidError error) {
  switch (error) {
    case JidError::Empty:
      return "empty JID";
    case JidError::EmptyLocalpart:
      return "empty localpart";
    case JidError::EmptyDomainpart:
      return "empty domainpart";
    case JidError::EmptyResourcepart:
      return "empty resourcepart";
    case JidError::InvalidLocalpart:
      return "invalid localpart";
    case JidError::InvalidDomainpart:
      return "invalid domainpart";
    case JidError::InvalidResourcepart:
      return "invalid resourcepart";
    case JidError::LocalpartTooLong:
      return "localpart longer than 1023 bytes";
    case JidError::DomainpartTooLong:
      return "domainpart longer than 1023 bytes";
    case JidError::ResourcepartTooLong:
      return "resourcepart longer than 1023 bytes";
  }
  return "invalid JID";
}

std::optional<std::string> Jid::prepare_localpart(std::string_view local, bool stored) {
  return prepare(local, StringprepProfile::Nodeprep, stored);
}

std::optional<std::string> Jid::prepare_resource(std::string_view resource, bool stored) {
  return prepare(resource, StringprepProfile::Resourceprep, stored);
}

std::optional<std::string> Jid::prepare_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > kMaxInputBytes) return std::nullopt;
  if (domain.front() == '[') return prepare_ipv6_literal(domain);
  auto out = sasl::stringprep(domain, StringprepProfile::Nameprep);
  if (!out) return std::nullopt;
  // IDNA2003 (RFC 3490 §3.1) label separators: U+3002 survives Nameprep (U+FF0E and U+FF61 are
  // folded by NFKC into '.' and U+3002), so it is turned into '.' here.
  static constexpr std::string_view kIdeographicFullStop = "\xe3\x80\x82";
  for (auto pos = out->find(kIdeographicFullStop); pos != std::string::npos;
       pos = out->find(kIdeographicFullStop, pos + 1)) {
    out->replace(pos, kIdeographicFullStop.size(), ".");
  }
  // RFC 7622 §3.2: a trailing label separator is stripped before the JID is used.
  if (!out->empty() && out->back() == '.') out->pop_back();
  if (out->empty() || out->size() > kMaxPartBytes) return std::nullopt;
  std::string_view rest = *out;
  while (true) {
    const auto dot = rest.find('.');
    if (!label_ok(rest.substr(0, dot))) return std::nullopt;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return out;
}

Jid::Jid(std::string_view local, std::string_view domain, std::string_view resource) {
  full_.reserve(local.size() + domain.size() + resource.size() + 2);
  if (!local.empty()) {
    full_.append(local);
    full_ += '@';
  }
  domain_begin_ = static_cast<std::uint16_t>(full_.size());
  full_.append(domain);
  domain_end_ = static_cast<std::uint16_t>(full_.size());
  if (!resource.empty()) {
    full_ += '/';
    full_.append(resource);
  }
}

std::optional<Jid> Jid::parse(std::string_view text, JidError* error) {
  if (text.empty()) {
    set(error, JidError::Empty);
    return std::nullopt;
  }
  std::string_view before_slash = text;
  std::optional<std::string_view> resource;
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    before_slash = text.substr(0, slash);
    resource = text.substr(slash + 1);
    if (resource->empty()) {
      set(error, JidError::EmptyResourcepart);
      return std::nullopt;
    }
  }
  std::string_view domain = before_slash;
  std::string_view local;
  if (const auto at = before_slash.find('@'); at != std::string_view::npos) {
    local = before_slash.substr(0, at);
    domain = before_slash.substr(at + 1);
    if (local.empty()) {
      set(error, JidError::EmptyLocalpart);
      return std::nullopt;
    }
  }
  return from_parts(local, domain, resource.value_or(std::string_view{}), error);
}

std::optional<Jid> Jid::from_parts(std::string_view local, std::string_view domain,
                                   std::string_view resource, JidError* error) {
  // Which check failed matters only for the message, so the length error is told apart from the
  // others by preparing again without the limit only on the failure path.
  const auto fail = [&](JidError invalid, JidError too_long, std::string_view part,
                        StringprepProfile profile) {
    if (part.size() > kMaxInputBytes) {
      set(error, too_long);  // refused before preparation: see kMaxInputBytes
      return std::nullopt;
    }
    auto unlimited = sasl::stringprep(part, profile);
    set(error, unlimited && unlimited->size() > kMaxPartBytes ? too_long : invalid);
    return std::nullopt;
  };
  if (domain.empty()) {
    set(error, JidError::EmptyDomainpart);
    return std::nullopt;
  }
  std::optional<std::string> prepared_local;
  if (!local.empty()) {
    prepared_local = prepare_localpart(local);
    if (!prepared_local) {
      return fail(JidError::InvalidLocalpart, JidError::LocalpartTooLong, local,
                  StringprepProfile::Nodeprep);
    }
  }
  auto prepared_domain = prepare_domain(domain);
  if (!prepared_domain) {
    if (domain == ".") {
      set(error, JidError::EmptyDomainpart);
      return std::nullopt;
    }
    return fail(JidError::InvalidDomainpart, JidError::DomainpartTooLong, domain,
                StringprepProfile::Nameprep);
  }
  std::optional<std::string> prepared_resource;
  if (!resource.empty()) {
    prepared_resource = prepare_resource(resource);
    if (!prepared_resource) {
      return fail(JidError::InvalidResourcepart, JidError::ResourcepartTooLong, resource,
                  StringprepProfile::Resourceprep);
    }
  }
  return Jid(prepared_local.value_or(std::string{}), *prepared_domain,
             prepared_resource.value_or(std::string{}));
}

std::string_view Jid::local() const {
  return has_local() ? std::string_view(full_).substr(0, domain_begin_ - 1U) : std::string_view{};
}

std::string_view Jid::domain() const {
  return std::string_view(full_).substr(domain_begin_, domain_end_ - domain_begin_);
}

std::string_view Jid::resource() const {
  return is_bare() ? std::string_view{} : std::string_view(full_).substr(domain_end_ + 1U);
}

Jid Jid::bare() const { return Jid(local(), domain(), {}); }

std::optional<Jid> Jid::with_resource(std::string_view resource) const {
  auto prepared = prepare_resource(resource);
  if (!prepared) return std::nullopt;
  return Jid(local(), domain(), *prepared);
}

std::ostream& operator<<(std::ostream& os, const Jid& jid) { return os << jid.full(); }

}  // namespace parley::core
