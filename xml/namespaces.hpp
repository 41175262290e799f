// XML namespace names used by Parley. Every namespace the code compares against or emits lives
// here, never as a literal scattered through the sources (CONVENTIONS.md).
#pragma once

#include <string_view>

namespace parley::xml::ns {

// RFC 6120 §4.8
inline constexpr std::string_view kStream = "http://etherx.jabber.org/streams";
inline constexpr std::string_view kClient = "jabber:client";
inline constexpr std::string_view kServer = "jabber:server";
inline constexpr std::string_view kComponentAccept = "jabber:component:accept";
inline constexpr std::string_view kDialback = "jabber:server:dialback";
// XEP-0220 §2.1: the stream feature announcing dialback (with dialback errors).
inline constexpr std::string_view kDialbackFeature = "urn:xmpp:features:dialback";
// XEP-0288: bidirectional server-to-server streams (the feature, and the request).
inline constexpr std::string_view kBidiFeature = "urn:xmpp:features:bidi";
inline constexpr std::string_view kBidi = "urn:xmpp:bidi";
// RFC 6120 §4.9.3, §8.3.3
inline constexpr std::string_view kStreamErrors = "urn:ietf:params:xml:ns:xmpp-streams";
inline constexpr std::string_view kStanzaErrors = "urn:ietf:params:xml:ns:xmpp-stanzas";
// RFC 6120 §5, §6, §7
inline constexpr std::string_view kTls = "urn:ietf:params:xml:ns:xmpp-tls";
inline constexpr std::string_view kSasl = "urn:ietf:params:xml:ns:xmpp-sasl";
inline constexpr std::string_view kBind = "urn:ietf:params:xml:ns:xmpp-bind";
inline constexpr std::string_view kSession = "urn:ietf:params:xml:ns:xmpp-session";

// Namespaces in XML 1.0 §3: bound by definition, never declared.
inline constexpr std::string_view kXml = "http://www.w3.org/XML/1998/namespace";
inline constexpr std::string_view kXmlns = "http://www.w3.org/2000/xmlns/";

}  // namespace parley::xml::ns
