#include "core/stanza_error.hpp"

#include <array>
#include <utility>

#include "xml/namespaces.hpp"

namespace parley::core {
namespace {

struct Info {
  StanzaError condition;
  std::string_view name;
  std::string_view type;
};

constexpr std::array<Info, 22> kInfo{{
    {StanzaError::BadRequest, "bad-request", "modify"},
    {StanzaError::Conflict, "conflict", "cancel"},
    {StanzaError::FeatureNotImplemented, "feature-not-implemented", "cancel"},
    {StanzaError::Forbidden, "forbidden", "auth"},
    {StanzaError::Gone, "gone", "cancel"},
    {StanzaError::InternalServerError, "internal-server-error", "cancel"},
    {StanzaError::ItemNotFound, "item-not-found", "cancel"},
    {StanzaError::JidMalformed, "jid-malformed", "modify"},
    {StanzaError::NotAcceptable, "not-acceptable", "modify"},
    {StanzaError::NotAllowed, "not-allowed", "cancel"},
    {StanzaError::NotAuthorized, "not-authorized", "auth"},
    {StanzaError::PolicyViolation, "policy-violation", "modify"},
    {StanzaError::RecipientUnavailable, "recipient-unavailable", "wait"},
    {StanzaError::Redirect, "redirect", "modify"},
    {StanzaError::RegistrationRequired, "registration-required", "auth"},
    {StanzaError::RemoteServerNotFound, "remote-server-not-found", "cancel"},
    {StanzaError::RemoteServerTimeout, "remote-server-timeout", "wait"},
    {StanzaError::ResourceConstraint, "resource-constraint", "wait"},
    {StanzaError::ServiceUnavailable, "service-unavailable", "cancel"},
    {StanzaError::SubscriptionRequired, "subscription-required", "auth"},
    {StanzaError::UndefinedCondition, "undefined-condition", "cancel"},
    {StanzaError::UnexpectedRequest, "unexpected-request", "wait"},
}};

const Info& info(StanzaError c) {
  for (const auto& i : kInfo) {
    if (i.condition == c) return i;
  }
  return kInfo[20];
}

}  // namespace

std::string_view to_string(StanzaError condition) { return info(condition).name; }
std::string_view default_type(StanzaError condition) { return info(condition).type; }

xml::Document make_error(xml::Element stanza, StanzaError condition,
                         std::string_view from_if_absent, std::string_view text) {
  xml::Document reply = xml::Document::create(stanza.name(), stanza.ns());
  xml::Element root = reply.root();
  if (auto id = stanza.find_attr("id")) root.set_attr("id", *id);
  if (auto from = stanza.find_attr("from")) root.set_attr("to", *from);
  const auto to = stanza.find_attr("to");
  root.set_attr("from", to ? *to : from_if_absent);
  root.set_attr("type", "error");
  xml::Element error = root.append_child("error");
  error.set_attr("type", default_type(condition));
  error.append_child(to_string(condition), xml::ns::kStanzaErrors);
  if (!text.empty()) {
    xml::Element t = error.append_child("text", xml::ns::kStanzaErrors);
    t.set_attr("xml:lang", "en");
    t.append_text(text);
  }
  return reply;
}

}  // namespace parley::core
