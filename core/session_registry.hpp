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
#include <string_view>
#include <unordered_map>
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
  // Whether some live session of `bare`'s account satisfies `pred` (called with a const
  // C2sSession&), without copying the sessions out: for the checks made on every stanza.
  template <class Pred>
  bool any_session_of(const Jid& bare, Pred pred) const {
    auto it = by_bare_.find(bare.bare_view());
    if (it == by_bare_.end()) return false;
    for (const auto& entry : it->second) {
      const std::shared_ptr<C2sSession> session = entry.second.lock();
      if (session && pred(static_cast<const C2sSession&>(*session))) return true;
    }
    return false;
  }
  // Whether `bare`'s account has a live session.
  bool has_sessions(const Jid& bare) const {
    return any_session_of(bare, [](const C2sSession&) { return true; });
  }
  std::shared_ptr<C2sSession> find(const Jid& full) const;
  std::size_t size() const;

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  // bare JID → resource → session (resources in order, so that every walk over an account's
  // sessions sees them in the same order)
  std::unordered_map<std::string, std::map<std::string, std::weak_ptr<C2sSession>>, StringHash,
                     std::equal_to<>>
      by_bare_;
};

}  // namespace parley::core
