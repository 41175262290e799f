// The router's view of federation (RFC 6120 §10.4.3, "remote domain"): where stanzas for domains
// this server does not serve go. federation::Manager implements it; app/ hands a factory to
// core::Server, so core/ never includes federation/ (docs/ARCHITECTURE.md).
//
// Thread-safety: none; the server's io thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/stanza.hpp"

namespace parley::core {

struct ServerState;

class RemoteDomains {
 public:
  virtual ~RemoteDomains() = default;

  // Binds the s2s listeners and gets ready to connect out. Throws std::exception with an
  // operator-readable what() (a port in use, an unreadable CA file).
  virtual void start() = 0;
  // Takes a stanza whose 'to' names a domain we do not serve and whose 'from' is ours. It is sent
  // over the link to that domain, queued while the link connects; when that fails, the sender gets
  // the error (remote-server-not-found / remote-server-timeout) through the router.
  virtual void send(StanzaPtr stanza) = 0;
  // SIGHUP: new certificates and trust anchors for new links.
  virtual void reload() = 0;
  // Ends every link with system-shutdown; `done` runs once all are closed (at once when none).
  virtual void stop(std::function<void()> done) = 0;
  // Closes every connection at once.
  virtual void abort_all() = 0;
  // Open connections, both directions.
  virtual std::size_t link_count() const = 0;
  // Bound ports of the STARTTLS and direct-TLS listeners; 0 when off.
  virtual std::uint16_t port() const = 0;
  virtual std::uint16_t tls_port() const = 0;
};

// Builds the federation for a server (called by Server::start, after the hosts exist).
using RemoteDomainsFactory = std::function<std::unique_ptr<RemoteDomains>(ServerState&)>;

}  // namespace parley::core
