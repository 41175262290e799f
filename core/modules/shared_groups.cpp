// Organisation-wide presence: shared roster groups. Every member of a group has every other
// member in the roster, subscription both, under the group's name, without asking. Groups come
// from the config file ([[group]]) and from the database (`parley group add|remove`); both add
// up. On SIGHUP (which `parley group` sends to a running server) they are read again, changed
// items are pushed to the online members at once, and presence follows: members who appear see
// each other's presence, members who go see each other go unavailable.
#include <spdlog/logger.h>

#include <boost/asio/co_spawn.hpp>

#include "core/c2s_session.hpp"
#include "core/config.hpp"
#include "core/modules/modules.hpp"
#include "core/modules/rosters.hpp"
#include "core/server_state.hpp"
#include "core/storage_bridge.hpp"
#include "storage/worker.hpp"
#include "xml/namespaces.hpp"

namespace parley::core::modules {

namespace {

namespace asio = boost::asio;
using Groups = std::map<std::string, std::set<std::string>>;

Groups merge(const Config& config, const std::vector<storage::SharedGroup>& stored) {
  Groups groups;
  for (const auto& g : config.groups) groups[g.name].insert(g.members.begin(), g.members.end());
  for (const auto& g : stored) {
    for (const auto& m : g.members) {
      if (auto jid = Jid::parse(m); jid && jid->has_local() && jid->is_bare()) {
        groups[g.name].insert(jid->full());
      }
    }
  }
  return groups;
}

class SharedGroups final : public Module {
 public:
  void attach(Host& host) override {
    host_ = &host;
    // At start the groups are read before any client can log in: the io loop is not running
    // yet, so waiting here blocks nobody.
    auto groups = wait_for_storage(*host.state().storage,
                                   [](storage::Stores& s) { return s.groups.groups(); });
    host.service<Rosters>().set_shared_groups(merge(*host.state().config, groups));
    host.on_reload([this] {
      asio::co_spawn(host_->state().executor, reload(), [this](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& error) {
          host_->log().error("shared groups: {}", error.what());
        }
      });
    });
  }

 private:
  asio::awaitable<void> reload() {
    auto job = [](storage::Stores& s) { return s.groups.groups(); };
    const auto stored = co_await run_storage(*host_->state().storage, std::move(job));
    auto groups = merge(*host_->state().config, stored);
    const auto changes = host_->service<Rosters>().set_shared_groups(std::move(groups));
    std::size_t members = 0;
    Router& router = host_->router();
    for (const auto& change : changes) {
      ++members;
      for (const auto& s : router.available_sessions(change.user)) {
        for (const Jid& contact : change.added) {
          const StanzaPtr last = s->presence().last.get();
          if (!last) continue;
          co_await router.route(Stanza::readdressed(*last, contact));
        }
        for (const Jid& contact : change.removed) {
          xml::Document p = xml::Document::create("presence", xml::ns::kClient);
          p.root().set_attr("type", "unavailable");
          co_await router.route(Stanza::make(std::move(p), *s->jid(), contact));
        }
      }
    }
    host_->log().info("{}: shared groups reloaded; {} online member(s) saw a change",
                      host_->domain(), members);
  }

  Host* host_ = nullptr;
};

}  // namespace

std::unique_ptr<Module> make_shared_groups() { return std::make_unique<SharedGroups>(); }

}  // namespace parley::core::modules
