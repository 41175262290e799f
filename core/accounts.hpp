// Accounts of the local virtual hosts, as an operator manages them: what `parley adduser`,
// `passwd`, `deluser` and `users` do (and, later, in-band registration, XEP-0077). Names are
// checked and prepared here (RFC 7622 §3.3 localpart, with unassigned code points refused as
// RFC 3454 §7 asks of stored strings; a configured domain); passwords are SASLprepped
// (RFC 4013, RFC 5802 §2.2) and stored only as SCRAM credentials (core/sasl/credentials.hpp).
//
// Errors: every failure an operator can cause throws AccountError, whose what() is one sentence
// that starts with the address as typed, e.g. "bob@example.net: example.net is not served here;
// configured domains: localhost". Database failures throw storage::Error.
//
// Thread-safety: as the AccountStore given (one thread at a time).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "storage/account_store.hpp"

namespace parley::core {

class AccountError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A local account's prepared address parts.
struct AccountName {
  std::string username;  // RFC 7622 localpart, prepared (Nodeprep)
  std::string domain;    // prepared; one of the configured hosts unless parsed with served=false

  std::string jid() const { return username + "@" + domain; }
  friend bool operator==(const AccountName&, const AccountName&) = default;
};

// Parses `text` as the bare JID of a local account: "user@domain", no resource. With
// `must_be_served`, the domain must be one of config.hosts. Throws AccountError.
AccountName parse_account_jid(const Config& config, std::string_view text,
                              bool must_be_served = true);

// SASLprep of a password as typed, refusing characters unassigned in Unicode 3.2 (RFC 4013 §2,
// RFC 3454 §7: it is to be stored). Throws AccountError when it is empty, or empty once prepared,
// or contains a character SASLprep prohibits (control characters, for instance).
std::string prepare_password(std::string_view typed);

class Accounts {
 public:
  // REQUIRES: `store` outlives this object; scram_iterations >= 4096 (Config::scram_iterations).
  Accounts(storage::AccountStore& store, std::uint32_t scram_iterations);

  bool exists(const AccountName& name);

  // Creates the account with `password` (as typed; prepared with prepare_password()).
  // Throws AccountError when it exists or the password is not acceptable.
  void add(const AccountName& name, std::string_view password);

  // Replaces the account's credentials with new ones for `password` (fresh salts).
  // Throws AccountError when it does not exist or the password is not acceptable.
  void set_password(const AccountName& name, std::string_view password);

  // Removes the account and everything stored for it. Throws AccountError when it does not exist.
  void remove(const AccountName& name);

  // The bare JIDs of the accounts of `domain` (every domain when empty), sorted by byte value.
  std::vector<std::string> list(std::string_view domain = {});

 private:
  storage::AccountStore& store_;
  std::uint32_t iterations_;
};

}  // namespace parley::core
