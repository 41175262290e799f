// Channel bindings for SCRAM-*-PLUS (RFC 5802 §6, RFC 5056): the values of "tls-exporter"
// (RFC 9266) and "tls-server-end-point" (RFC 5929 §4) for one TLS connection. They take OpenSSL's
// SSL* (ssl_st) directly, so that SASL needs no Asio; a session passes stream.native_handle().
#pragma once

#include <string>
#include <string_view>
#include <vector>

struct ssl_st;  // OpenSSL's SSL

namespace parley::core::sasl {

inline constexpr std::string_view kTlsExporter = "tls-exporter";
inline constexpr std::string_view kTlsServerEndPoint = "tls-server-end-point";
inline constexpr std::string_view kTlsUnique = "tls-unique";

// The channel-binding data of one connection; an empty string means "not available". The server
// offers the -PLUS mechanisms exactly when at least one is available (see ScramServer: a client
// that says 'y' then is being downgraded).
struct ChannelBindings {
  std::string tls_exporter;
  std::string tls_server_end_point;
  // RFC 5929 §3: the first Finished message. Defined for TLS 1.2 and below, and advertised only
  // there; still accepted on TLS 1.3, because clients built on Python's ssl module (slixmpp 1.8)
  // know no other type and send it there. In TLS 1.3 the Finished message is a MAC over the whole
  // handshake transcript, so it is still unique to the connection. See docs/SECURITY.md.
  std::string tls_unique;
  bool advertise_tls_unique = false;

  bool any() const {
    return !tls_exporter.empty() || !tls_server_end_point.empty() || !tls_unique.empty();
  }
  // The data for a cb-name, or nullptr when it is unknown or unavailable.
  const std::string* find(std::string_view cb_name) const;
  // The available types, to advertise (XEP-0440 <sasl-channel-binding/>).
  std::vector<std::string_view> types() const;
};

// RFC 9266: 32 bytes of SSL_export_keying_material with label "EXPORTER-Channel-Binding" and no
// context. Empty before the handshake is complete, and for TLS below 1.3 without the extended
// master secret (RFC 9266 §3 / RFC 7627: without it the value is not unique to the connection).
std::string tls_exporter(ssl_st* ssl);

// RFC 5929 §4.1: the hash of the server's certificate (ours on the server side, the peer's on a
// client), with the hash of its signature algorithm, SHA-256 when that is MD5 or SHA-1. Empty
// when there is no certificate or its signature algorithm uses no single hash (e.g. Ed25519),
// for which RFC 5929 leaves the binding undefined.
std::string tls_server_end_point(ssl_st* ssl);

// RFC 5929 §3.1 (see ChannelBindings::tls_unique).
std::string tls_unique(ssl_st* ssl);

// All of the above.
ChannelBindings channel_bindings(ssl_st* ssl);

}  // namespace parley::core::sasl
