#include "core/stanza.hpp"

#include <stdexcept>

#include "xml/namespaces.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"

namespace parley::core {

namespace {

std::optional<StanzaKind> kind_of(std::string_view name) {
  if (name == "message") return StanzaKind::Message;
  if (name == "presence") return StanzaKind::Presence;
  if (name == "iq") return StanzaKind::Iq;
  return std::nullopt;
}

}  // namespace

StanzaPtr Stanza::make(xml::Document document, Jid from, std::optional<Jid> to) {
  const auto kind = kind_of(document.root().name());
  if (!kind) throw std::invalid_argument("not a stanza: " + std::string(document.root().name()));
  xml::Element root = document.root();
  root.set_attr("from", from.full());
  if (to) {
    root.set_attr("to", to->full());
  } else {
    root.remove_attr("to");
  }
  return StanzaPtr(new Stanza(std::move(document), *kind, std::move(from), std::move(to)));
}

StanzaPtr Stanza::readdressed(const Stanza& original, std::optional<Jid> to) {
  return make(original.copy(), original.from(), std::move(to));
}

StanzaPtr Stanza::parse(std::string_view bytes) {
  xml::ParserOptions options;
  options.content_namespaces = {std::string(xml::ns::kClient)};
  xml::StreamParser parser(options);
  parser.feed(
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
      "version='1.0'>");
  parser.feed(bytes);
  for (;;) {
    auto event = parser.next();
    if (event.type == xml::StreamParser::EventType::StreamOpened) continue;
    if (event.type != xml::StreamParser::EventType::Element) return nullptr;
    const xml::Element root = event.element.root();
    if (!kind_of(root.name()) || root.ns() != xml::ns::kClient) return nullptr;
    auto from = Jid::parse(root.attr("from"));
    if (!from) return nullptr;
    std::optional<Jid> to;
    if (auto text = root.find_attr("to")) {
      to = Jid::parse(*text);
      if (!to) return nullptr;
    }
    return make(std::move(event.element), std::move(*from), std::move(to));
  }
}

std::string_view Stanza::name() const {
  switch (kind_) {
    case StanzaKind::Message: return "message";
    case StanzaKind::Presence: return "presence";
    case StanzaKind::Iq: return "iq";
  }
  return "";
}

const std::string& Stanza::bytes() const {
  if (bytes_.empty()) {
    static const xml::WriteContext kClientStream{xml::ns::kClient, "stream", true};
    xml::write_element(bytes_, root(), kClientStream);
  }
  return bytes_;
}

bool is_subscription_type(std::string_view type) {
  return type == "subscribe" || type == "subscribed" || type == "unsubscribe" ||
         type == "unsubscribed";
}

}  // namespace parley::core
