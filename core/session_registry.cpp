#include "core/session_registry.hpp"

namespace parley::core {

std::shared_ptr<C2sSession> SessionRegistry::bind(const Jid& full,
                                                  const std::shared_ptr<C2sSession>& session) {
  auto& resources = by_bare_[std::string(full.bare_view())];
  auto& slot = resources[std::string(full.resource())];
  std::shared_ptr<C2sSession> old = slot.lock();
  slot = session;
  return old == session ? nullptr : old;
}

void SessionRegistry::unbind(const Jid& full, const C2sSession* session) {
  auto bare = by_bare_.find(full.bare_view());
  if (bare == by_bare_.end()) return;
  auto it = bare->second.find(std::string(full.resource()));
  if (it == bare->second.end()) return;
  auto current = it->second.lock();
  if (current && current.get() != session) return;  // already replaced by a newer session
  bare->second.erase(it);
  if (bare->second.empty()) by_bare_.erase(bare);
}

std::vector<std::shared_ptr<C2sSession>> SessionRegistry::sessions_of(const Jid& bare) const {
  std::vector<std::shared_ptr<C2sSession>> out;
  auto it = by_bare_.find(bare.bare_view());
  if (it == by_bare_.end()) return out;
  for (const auto& [resource, weak] : it->second) {
    if (auto s = weak.lock()) out.push_back(std::move(s));
  }
  return out;
}

std::shared_ptr<C2sSession> SessionRegistry::find(const Jid& full) const {
  auto it = by_bare_.find(full.bare_view());
  if (it == by_bare_.end()) return nullptr;
  auto r = it->second.find(std::string(full.resource()));
  return r == it->second.end() ? nullptr : r->second.lock();
}

std::size_t SessionRegistry::size() const {
  std::size_t n = 0;
  for (const auto& [bare, resources] : by_bare_) n += resources.size();
  return n;
}

}  // namespace parley::core
