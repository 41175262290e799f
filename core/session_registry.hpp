// Which client sessions are bound to which full JIDs (RFC 6120 §7) on this server. A second bind of
// the same full JID replaces the first session (its stream gets <conflict/>, §7.7.2.2), as Prosody
// and ejabberd do by default.
//
// This is the one class that knows where a JID is connected (DESIGN.md): a cluster replaces it
// with a directory shared by the nodes.
// Thread-safety: none; used on the server's io thread.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/jid.hpp"

namespace parley::core {

class C2sSession;

class SessionRegistry {
 public:
  // Binds `full` to `session`; returns the session it displaces, if any.
  std::shared_ptr<C2sSession> bind(const Jid& full, const std::shared_ptr<C2sSession>& session);
  // Forgets the binding if it still belongs to `session`.
  void unbind(const Jid& full, const C2sSession* session);
  // The live sessions of a bare JID.
  std::vector<std::shared_ptr<C2sSession>> sessions_of(const Jid& bare) const;
  std::shared_ptr<C2sSession> find(const Jid& full) const;
  std::size_t size() const;

 private:
  // bare JID → resource → session
  std::map<std::string, std::map<std::string, std::weak_ptr<C2sSession>>, std::less<>> by_bare_;
};

}  // namespace parley::core
