// A routed stanza (RFC 6120 §8): an immutable message, presence or iq with its addresses parsed
// once, shared by everyone it is delivered to. Its wire bytes for a client stream are produced
// once, on first use, and shared too: a presence broadcast to 500 contacts serialises once.
//
// Changing a stanza (a delay stamp, a carbons wrapper, a new 'to') makes a new Stanza.
// Thread-safety: a Stanza is read-only once made, except for the lazily filled byte cache;
// bytes() must be called on one thread at a time (the router calls it before sharing across
// threads).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/jid.hpp"
#include "xml/element.hpp"

namespace parley::core {

enum class StanzaKind : std::uint8_t { Message, Presence, Iq };

class Stanza;
using StanzaPtr = std::shared_ptr<const Stanza>;

class Stanza {
 public:
  // `document`'s root is a message, presence or iq in jabber:client (canonical form, see
  // xml/element.hpp). Sets its 'from' attribute to `from` and its 'to' to `to` (removed when
  // nullopt), so attributes and parsed addresses always agree.
  // REQUIRES: the root is a message, presence or iq.
  static StanzaPtr make(xml::Document document, Jid from, std::optional<Jid> to);
  // A stanza serialised earlier by bytes() (e.g. kept in offline storage), parsed again; its
  // 'from' and 'to' must be valid JIDs, 'from' present. nullopt when it is not such a stanza.
  static StanzaPtr parse(std::string_view bytes);
  // A copy of `original` with another 'to' (and the same 'from').
  static StanzaPtr readdressed(const Stanza& original, std::optional<Jid> to);

  StanzaKind kind() const { return kind_; }
  std::string_view name() const;  // "message", "presence", "iq"
  xml::Element root() const { return document_.root(); }
  const Jid& from() const { return from_; }
  const std::optional<Jid>& to() const { return to_; }
  // The 'type' attribute; "" when absent.
  std::string_view type() const { return root().attr("type"); }
  std::string_view id() const { return root().attr("id"); }
  // The serialisation for a client stream (jabber:client as default namespace, no xmlns).
  const std::string& bytes() const;
  // A deep copy of the element tree, for building a changed stanza.
  xml::Document copy() const { return xml::Document::copy_of(root()); }

  Stanza(const Stanza&) = delete;
  Stanza& operator=(const Stanza&) = delete;

 private:
  Stanza(xml::Document document, StanzaKind kind, Jid from, std::optional<Jid> to)
      : document_(std::move(document)), kind_(kind), from_(std::move(from)), to_(std::move(to)) {}

  xml::Document document_;
  StanzaKind kind_;
  Jid from_;
  std::optional<Jid> to_;
  mutable std::string bytes_;  // empty until bytes() is first called
};

// A stanza kept for a long time (a session's latest presence, for probes) in serialised form:
// a few hundred bytes instead of a parsed tree, which holds a 32 KiB pugixml page (measured: 12 KiB
// of resident memory per idle session). get() parses it again when it is needed.
class KeptStanza {
 public:
  KeptStanza() = default;
  KeptStanza& operator=(const StanzaPtr& stanza) {
    bytes_ = stanza ? stanza->bytes() : std::string();
    bytes_.shrink_to_fit();
    return *this;
  }
  explicit operator bool() const { return !bytes_.empty(); }
  // The stanza kept; null when none is.
  StanzaPtr get() const { return bytes_.empty() ? nullptr : Stanza::parse(bytes_); }

 private:
  std::string bytes_;
};

// Presence types that manage subscriptions (RFC 6121 §3): subscribe, subscribed, unsubscribe,
// unsubscribed.
bool is_subscription_type(std::string_view presence_type);

}  // namespace parley::core
