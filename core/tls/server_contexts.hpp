// Server-side TLS for every served domain (RFC 7590, XEP-0368): one OpenSSL context per virtual
// host, TLS 1.2 and 1.3 only, chosen by SNI or — for STARTTLS — by the stream's 'to'. A set of
// contexts is immutable; SIGHUP builds a new set and new connections use it, while established
// sessions keep the set they started with (they hold a shared_ptr).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.hpp"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct ssl_st;      // OpenSSL's SSL

namespace boost::asio::ssl {
class context;
}

namespace parley::core::tls {

// The server's TLS 1.3 suite preference (docs/SECURITY.md): `suites` (colon-separated, by
// default OpenSSL's three default suites with AES-128-GCM first) in the server's order, and
// ChaCha20 first for a client that lists it first. Throws std::runtime_error when OpenSSL
// refuses the list.
void set_server_suite_preference(ssl_ctx_st* ctx, std::string_view suites = kDefaultTls13Suites);
// The TLS 1.3 suites `ctx` accepts (a server) or offers (a client), colon-separated, in that
// order. Throws std::runtime_error when OpenSSL refuses the list.
void set_tls13_suites(ssl_ctx_st* ctx, std::string_view suites);

class ServerContexts {
 public:
  // Loads every host's certificate chain and key; `alpn` is the protocol accepted when a client
  // offers ALPN (XEP-0368: "xmpp-client"). Throws std::runtime_error naming the file and OpenSSL's
  // reason when a certificate or key cannot be used.
  static std::shared_ptr<ServerContexts> load(const Config& config, std::string alpn);
  ~ServerContexts();
  ServerContexts(const ServerContexts&) = delete;
  ServerContexts& operator=(const ServerContexts&) = delete;

  // The context new TLS streams are created from: the default host's, with SNI switching.
  boost::asio::ssl::context& default_context() { return *default_; }
  // The context of a served domain; nullptr for a domain not served.
  ssl_ctx_st* for_domain(std::string_view domain) const;
  // Before a STARTTLS handshake: present the certificate of the domain the stream is for.
  void select(ssl_st* ssl, std::string_view domain) const;

 private:
  ServerContexts() = default;
  std::unique_ptr<boost::asio::ssl::context> default_;
  std::vector<std::pair<std::string, ssl_ctx_st*>> by_domain_;  // owned, freed in the destructor
  std::string alpn_wire_;                                       // length-prefixed ALPN protocol
  friend int on_client_hello_servername(ssl_st*, int*, void*);
  friend int on_alpn_select(ssl_st*, const unsigned char**, unsigned char*, const unsigned char*,
                            unsigned, void*);
};

}  // namespace parley::core::tls
