// XMPP addresses (RFC 7622): parsed and prepared once, then compared and hashed as plain strings.
//
// Preparation uses the stringprep profiles of RFC 6122 (Nodeprep, Nameprep, Resourceprep, through
// libidn), not RFC 7622's PRECIS profiles (UsernameCaseMapped, OpaqueString). That is what
// Prosody and ejabberd do, and a JID has to compare equal on both ends of a federated link: if
// Parley prepared "ﬀ@example.com" or "ß@example.com" differently from its peers, rosters,
// subscriptions and MUC affiliations would silently stop matching. The two agree on the common
// cases (ASCII, case folding, NFKC-compatible input); they differ in corners such as characters
// unassigned in Unicode 3.2, "ß" (Nodeprep folds it to "ss"), and width mapping in resources.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace parley::core {

// Why a string is not a JID (for logs and error texts; every one means jid-malformed).
enum class JidError {
  Empty,
  EmptyLocalpart,     // "@example.com"
  EmptyDomainpart,    // "alice@", "/res", "" after stripping the trailing dot
  EmptyResourcepart,  // "example.com/"
  InvalidLocalpart,   // Nodeprep refused it (e.g. a prohibited character), or bad UTF-8
  InvalidDomainpart,  // Nameprep refused it, bad label, bad IP literal, bad UTF-8
  InvalidResourcepart,
  LocalpartTooLong,  // more than 1023 bytes after preparation (RFC 7622 §3.3)
  DomainpartTooLong,
  ResourcepartTooLong,
};

std::string_view to_string(JidError error);

// Immutable. Holds the prepared parts in one string, "local@domain/resource", so that full(),
// bare_view() (a prefix of it), comparison and hashing cost no more than for a string.
// There is no default constructor: a Jid is always valid; use std::optional<Jid> for "none".
class Jid {
 public:
  static constexpr std::size_t kMaxPartBytes = 1023;  // RFC 7622 §3.2, §3.3, §3.4

  // RFC 7622 §3.1: the resourcepart is everything after the first '/'; of what comes before,
  // the localpart is everything before the first '@'; the rest is the domainpart. Each part is
  // then prepared (below). nullopt, and the reason in *error if given, when that fails.
  static std::optional<Jid> parse(std::string_view text, JidError* error = nullptr);

  // From separate parts, each prepared; an empty `local` or `resource` means "absent".
  static std::optional<Jid> from_parts(std::string_view local, std::string_view domain,
                                       std::string_view resource = {}, JidError* error = nullptr);

  // The preparation of one part, or nullopt when it is invalid or empty or longer than
  // kMaxPartBytes once prepared. Use stored=true for strings that will be stored (a username
  // being registered): RFC 3454 §7 then refuses code points unassigned in Unicode 3.2.
  //  - localpart: Nodeprep (case-folded; "&'/:<>@, space and controls prohibited).
  static std::optional<std::string> prepare_localpart(std::string_view local, bool stored = false);
  //  - domainpart: one trailing '.' stripped, Nameprep (case-folded, NFKC); each dot-separated
  //    label non-empty and at most 63 bytes in its ASCII (punycode) form; ASCII restricted to
  //    letters, digits, '-' and '_'. "[...]" is an IPv6 literal, canonicalised as RFC 5952
  //    prints it. The result stays in Unicode (U-labels are not converted to A-labels).
  static std::optional<std::string> prepare_domain(std::string_view domain);
  //  - resourcepart: Resourceprep (case and spaces kept, NFKC).
  static std::optional<std::string> prepare_resource(std::string_view resource,
                                                     bool stored = false);

  std::string_view local() const;  // empty when absent
  std::string_view domain() const;
  std::string_view resource() const;  // empty when absent

  bool has_local() const { return domain_begin_ != 0; }
  bool is_bare() const { return domain_end_ == full_.size(); }

  // "local@domain/resource", "local@domain", "domain/resource" or "domain".
  const std::string& full() const { return full_; }
  // "local@domain" or "domain", without copying: the prefix of full(). Compare or hash these to
  // compare bare JIDs.
  std::string_view bare_view() const { return std::string_view(full_).substr(0, domain_end_); }
  Jid bare() const;
  bool same_bare(const Jid& other) const { return bare_view() == other.bare_view(); }

  // This JID's bare part with another resource (prepared); nullopt when `resource` is invalid.
  std::optional<Jid> with_resource(std::string_view resource) const;

  friend bool operator==(const Jid& a, const Jid& b) { return a.full_ == b.full_; }
  friend std::strong_ordering operator<=>(const Jid& a, const Jid& b) {
    return a.full_.compare(b.full_) <=> 0;
  }

 private:
  Jid(std::string_view local, std::string_view domain, std::string_view resource);

  std::string full_;
  std::uint16_t domain_begin_ = 0;  // 0 when there is no localpart, else local().size() + 1
  std::uint16_t domain_end_ = 0;    // full_.size() when there is no resourcepart
};

// Writes full() (for logs and test failure messages).
std::ostream& operator<<(std::ostream& os, const Jid& jid);

}  // namespace parley::core

template <>
struct std::hash<parley::core::Jid> {
  std::size_t operator()(const parley::core::Jid& jid) const noexcept {
    return std::hash<std::string_view>{}(jid.full());
  }
};
