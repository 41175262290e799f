// Federation (RFC 6120 server-to-server): the s2s listeners (STARTTLS on 5269, direct TLS on 5270
// per XEP-0368), one outgoing link per (local domain, remote domain), the incoming links, and what
// they share: TLS contexts, trust anchors, the DNS resolver and the dialback secret (XEP-0185).
//
// Outgoing stanzas arrive through core::RemoteDomains::send(); the link for their domain pair is
// made on demand and queues them while it resolves, connects and authenticates (SASL EXTERNAL
// per XEP-0178 with a valid certificate, else dialback per XEP-0220). When that fails, every
// queued stanza goes back to its sender as an error, within [s2s] connect_timeout. Links close
// after [s2s] idle_timeout without traffic and are made again when needed.
//
// Thread-safety: none; the server's io thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/remote_domains.hpp"
#include "core/stanza_error.hpp"

namespace parley::core {
struct ServerState;
}

namespace parley::federation {

namespace dns {
class Resolver;
}
namespace pki {
class S2sTls;
class TrustAnchors;
}  // namespace pki

class IncomingLink;
class OutgoingLink;

class Manager final : public core::RemoteDomains {
 public:
  explicit Manager(core::ServerState& server);
  ~Manager() override;
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // core::RemoteDomains
  void start() override;
  void send(core::StanzaPtr stanza) override;
  void reload() override;
  void stop(std::function<void()> done) override;
  void abort_all() override;
  std::size_t link_count() const override;
  std::uint16_t port() const override { return port_; }
  std::uint16_t tls_port() const override { return tls_port_; }

  // --- for the links ---
  core::ServerState& server() const { return server_; }
  const std::string& dialback_secret() const { return secret_; }
  std::shared_ptr<pki::S2sTls> tls() const { return tls_; }
  const pki::TrustAnchors& anchors() const { return *anchors_; }
  dns::Resolver& resolver() const { return *resolver_; }
  // XEP-0220 §2.3: asks the authoritative server of `remote` (over our outgoing link from
  // `local`) whether `key` is right for the stream `stream_id` that claims to come from `remote`.
  // nullopt when it could not be asked (unreachable, timed out).
  boost::asio::awaitable<std::optional<bool>> verify_dialback(std::string local, std::string remote,
                                                              std::string stream_id,
                                                              std::string key);
  // XEP-0288: `link` carries stanzas from `local` to `remote` too (the peer asked for a
  // bidirectional stream and authenticated `remote` on it); send() prefers it to a new link.
  void register_bidi(const std::string& local, const std::string& remote,
                     std::shared_ptr<IncomingLink> link);
  // A link has closed its socket.
  void link_closed(const OutgoingLink& link);
  void link_closed(const IncomingLink& link);
  // Sends an error for `stanza` back to its sender (through the router, asynchronously).
  void bounce(core::StanzaPtr stanza, core::StanzaError condition, std::string text);

 private:
  std::shared_ptr<OutgoingLink> outgoing(const std::string& local, const std::string& remote);
  boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor,
                                           bool direct_tls);
  void check_drained();

  core::ServerState& server_;
  std::string secret_;
  std::shared_ptr<pki::TrustAnchors> anchors_;
  std::shared_ptr<pki::S2sTls> tls_;
  std::unique_ptr<dns::Resolver> resolver_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> tls_acceptor_;
  std::uint16_t port_ = 0;
  std::uint16_t tls_port_ = 0;
  // Keyed by "local remote" (a space cannot occur in a domain).
  std::map<std::string, std::shared_ptr<OutgoingLink>, std::less<>> outgoing_;
  std::map<std::uint64_t, std::shared_ptr<IncomingLink>> incoming_;
  // Incoming bidirectional links usable for sending, by "local remote".
  std::map<std::string, std::weak_ptr<IncomingLink>, std::less<>> bidi_;
  std::function<void()> on_drained_;
  bool stopping_ = false;
};

}  // namespace parley::federation
