#include "core/accounts.hpp"

#include <algorithm>
#include <optional>

#include "core/jid.hpp"
#include "core/sasl/credentials.hpp"
#include "core/sasl/saslprep.hpp"

namespace parley::core {

namespace {

std::string configured_domains(const Config& config) {
  std::string list;
  for (const auto& host : config.hosts) {
    if (!list.empty()) list += ", ";
    list += host.domain;
  }
  return list;
}

// Why `text` is not an account address, in words an operator can act on.
std::string explain(JidError error) {
  switch (error) {
    case JidError::Empty:
      return "no address given";
    case JidError::EmptyLocalpart:
      return "the part before '@' (the user name) is empty";
    case JidError::EmptyDomainpart:
      return "the part after '@' (the domain) is empty";
    case JidError::EmptyResourcepart:
      return "an account address has no '/'";
    case JidError::InvalidLocalpart:
      return "the user name contains a character XMPP does not allow in one (a space, \" & ' / : "
             "< > @, or a control character)";
    case JidError::InvalidDomainpart:
      return "the domain is not a valid domain name";
    case JidError::InvalidResourcepart:
      return "an account address has no '/'";
    case JidError::LocalpartTooLong:
      return "the user name is longer than 1023 bytes";
    case JidError::DomainpartTooLong:
      return "the domain is longer than 1023 bytes";
    case JidError::ResourcepartTooLong:
      return "an account address has no '/'";
  }
  return "it is not a valid XMPP address";
}

std::vector<storage::ScramCredential> credentials_for(std::string_view typed,
                                                      std::uint32_t iterations) {
  return sasl::make_credentials(prepare_password(typed), iterations);
}

}  // namespace

AccountName parse_account_jid(const Config& config, std::string_view text, bool must_be_served) {
  const std::string as_typed(text);
  JidError error{};
  const auto jid = Jid::parse(text, &error);
  if (!jid) throw AccountError(as_typed + ": not a valid address: " + explain(error));
  if (!jid->has_local()) {
    throw AccountError(as_typed + ": give a user name and a domain, e.g. " +
                       std::string(jid->domain()) + "@" + config.default_host().domain);
  }
  if (!jid->is_bare()) {
    throw AccountError(as_typed + ": an account address has no resource (the part from '/'); use " +
                       std::string(jid->bare_view()));
  }
  // Parsing prepared the localpart as a query would; a name about to be stored must also not use
  // code points unassigned in Unicode 3.2 (RFC 3454 §7), or it could change meaning later.
  auto username = Jid::prepare_localpart(jid->local(), /*stored=*/true);
  if (!username) {
    throw AccountError(as_typed +
                       ": the user name contains a character that Unicode 3.2 does not define, "
                       "which XMPP servers refuse in stored names");
  }
  AccountName name{*username, std::string(jid->domain())};
  if (must_be_served && config.host(name.domain) == nullptr) {
    throw AccountError(as_typed + ": " + name.domain +
                       " is not served here; configured domains: " + configured_domains(config));
  }
  return name;
}

std::string prepare_password(std::string_view typed) {
  if (typed.empty()) throw AccountError("the password is empty; choose a non-empty one");
  auto prepared = sasl::saslprep(typed, sasl::Unassigned::Refuse);
  if (!prepared) {
    throw AccountError(
        "the password contains a character that passwords may not contain (RFC 4013: control "
        "characters, unassigned or private-use code points, or broken UTF-8); choose another");
  }
  if (prepared->empty()) {
    throw AccountError(
        "the password consists only of characters that SASLprep removes (such as "
        "soft hyphens); choose another");
  }
  return *std::move(prepared);
}

Accounts::Accounts(storage::AccountStore& store, std::uint32_t scram_iterations)
    : store_(store), iterations_(scram_iterations) {}

bool Accounts::exists(const AccountName& name) { return store_.exists(name.domain, name.username); }

void Accounts::add(const AccountName& name, std::string_view password) {
  // Checked first so that a taken name is reported before the (slow) key derivation.
  if (exists(name)) throw AccountError(name.jid() + ": the account already exists");
  const auto credentials = credentials_for(password, iterations_);
  if (store_.create(name.domain, name.username, credentials) == storage::Result::AlreadyExists) {
    throw AccountError(name.jid() + ": the account already exists");
  }
}

void Accounts::set_password(const AccountName& name, std::string_view password) {
  if (!exists(name)) throw AccountError(name.jid() + ": there is no such account");
  const auto credentials = credentials_for(password, iterations_);
  if (store_.set_credentials(name.domain, name.username, credentials) ==
      storage::Result::NotFound) {
    throw AccountError(name.jid() + ": there is no such account");
  }
}

void Accounts::remove(const AccountName& name) {
  if (store_.remove(name.domain, name.username) == storage::Result::NotFound) {
    throw AccountError(name.jid() + ": there is no such account");
  }
}

std::vector<std::string> Accounts::list(std::string_view domain) {
  std::vector<std::string> jids;
  const auto add_domain = [&](std::string_view d) {
    for (const auto& username : store_.list(d)) jids.push_back(username + "@" + std::string(d));
  };
  if (!domain.empty()) {
    add_domain(domain);
  } else {
    for (const auto& d : store_.list_domains()) add_domain(d);
  }
  std::sort(jids.begin(), jids.end());
  return jids;
}

}  // namespace parley::core
