// XEP-0012 Last Activity: to the server's domain, its uptime (§5); to an account's bare JID, the
// seconds since the account's last logout and the status text of its last unavailable presence
// (§3), kept in AccountDataStore under "last". Only the account itself and contacts allowed to see
// its presence (subscription 'from' or 'both') may ask (§3, §8). A query to a full JID is the
// client's to answer: the router delivers it.
#include <spdlog/logger.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/c2s_session.hpp"
#include "core/modules/modules.hpp"
#include "core/modules/rosters.hpp"
#include "core/router.hpp"
#include "core/server_state.hpp"
#include "core/storage_bridge.hpp"
#include "storage/worker.hpp"
#include "xml/element.hpp"
#include "xml/namespaces.hpp"

namespace parley::core::modules {

namespace {

namespace asio = boost::asio;
constexpr std::string_view kLast = "jabber:iq:last";
constexpr std::string_view kKey = "last";  // AccountDataStore key
// A status longer than this is cut (at a character boundary) before it is stored: the XEP only
// needs it for display, and the store should not keep a stanza-sized text per account.
constexpr std::size_t kMaxStatusBytes = 1024;

// What is kept of a logout: when (Unix seconds) and the status text.
struct Record {
  std::int64_t when = 0;
  std::string status;
};

// Stored as "<seconds>\n<status>".
std::string encode(const Record& record) {
  return std::to_string(record.when) + '\n' + record.status;
}

std::optional<Record> decode(std::string_view value) {
  const auto newline = value.find('\n');
  if (newline == std::string_view::npos) return std::nullopt;
  Record record;
  auto [end, ec] = std::from_chars(value.data(), value.data() + newline, record.when);
  if (ec != std::errc() || end != value.data() + newline) return std::nullopt;
  record.status = std::string(value.substr(newline + 1));
  return record;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The text of the presence's first <status/> (RFC 6121 §4.7.2.2), at most kMaxStatusBytes.
std::string status_of(const StanzaPtr& presence) {
  if (!presence) return {};
  std::string text = presence->root().child("status", xml::ns::kClient).text();
  if (text.size() > kMaxStatusBytes) {
    std::size_t cut = kMaxStatusBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
  }
  return text;
}

xml::Document query_with_seconds(std::int64_t seconds, std::string_view text = {}) {
  xml::Document query = xml::Document::create("query", kLast);
  query.root().set_attr("seconds", std::to_string(seconds < 0 ? 0 : seconds));
  if (!text.empty()) query.root().append_text(text);
  return query;
}

class Last final : public Module {
 public:
  void attach(Host& host) override {
    host_ = &host;
    started_ = std::chrono::steady_clock::now();
    for (IqTarget target : {IqTarget::Host, IqTarget::Account}) host.add_feature(target, kLast);
    host.handle_iq(IqTarget::Host, kLast, "query",
                   [this](IqRequest& request) { return uptime(request); });
    host.handle_iq(IqTarget::Account, kLast, "query",
                   [this](IqRequest& request) { return last_activity(request); });
    host.on_session(SessionEvent::Unavailable,
                    [this](const std::shared_ptr<C2sSession>& session) { logged_out(session); });
  }

 private:
  // §5: a query to the server is answered with its uptime, without character data.
  asio::awaitable<void> uptime(IqRequest& request) {
    if (!request.is_get()) {
      co_await host_->reply_error(request, StanzaError::NotAllowed, "last activity is read-only");
      co_return;
    }
    const auto up = std::chrono::steady_clock::now() - started_;
    co_await host_->reply(
        request, query_with_seconds(std::chrono::duration_cast<std::chrono::seconds>(up).count()));
  }

  // §3: a query to an account's bare JID, answered by the server on the account's behalf.
  asio::awaitable<void> last_activity(IqRequest& request) {
    if (!request.is_get()) {
      co_await host_->reply_error(request, StanzaError::NotAllowed, "last activity is read-only");
      co_return;
    }
    const Jid user = request.to().bare();
    const Jid requester = request.from().bare();
    if (requester != user) {
      // §3, §8: only those authorized to see the user's presence, by a subscription.
      const auto item = co_await host_->service<Rosters>().item(user, requester);
      const bool subscribed = item && (item->subscription == storage::Subscription::From ||
                                       item->subscription == storage::Subscription::Both);
      if (!subscribed) {
        co_await host_->reply_error(request, StanzaError::Forbidden);
        co_return;
      }
    }
    // §3: an available resource means seconds='0'. Only available resources count, not merely
    // connected ones: a session that has sent no presence (or unavailable presence) looks
    // offline to the user's contacts (RFC 6121 §4.3.2 probes), and last activity must not tell
    // them otherwise (the "local security policies" the XEP leaves room for).
    if (!host_->router().available_sessions(user).empty()) {
      co_await host_->reply(request, query_with_seconds(0));
      co_return;
    }
    const std::optional<Record> record = co_await recorded(user);
    if (!record) {
      // The XEP does not say what to answer for an account that never logged out; nothing was
      // recorded, so there is no item to return (RFC 6120 §8.3.3.7).
      co_await host_->reply_error(request, StanzaError::ItemNotFound,
                                  "no logout of this account has been recorded");
      co_return;
    }
    co_await host_->reply(request, query_with_seconds(unix_now() - record->when, record->status));
  }

  asio::awaitable<std::optional<Record>> recorded(const Jid& user) {
    if (auto it = pending_.find(user.full()); it != pending_.end()) co_return it->second.record;
    auto job = [domain = std::string(user.domain()), local = std::string(user.local())](
                   storage::Stores& s) { return s.data.get(domain, local, kKey); };
    const std::optional<std::string> value =
        co_await run_storage(*host_->state().storage, std::move(job));
    if (!value) co_return std::nullopt;
    auto record = decode(*value);
    if (!record) host_->log().warn("last activity of {} is unreadable; ignored", user.full());
    co_return record;
  }

  // The presence module saw a session become unavailable (explicitly or by disconnecting). The
  // account has logged out when no other resource is available.
  void logged_out(const std::shared_ptr<C2sSession>& session) {
    if (!session->jid()) return;
    const Jid user = session->jid()->bare();
    if (!host_->router().available_sessions(user).empty()) return;
    Record record{unix_now(), status_of(session->presence().last.get())};
    const std::uint64_t seq = ++writes_;
    // Queries answered before the storage thread has written it see it here.
    pending_[user.full()] = Pending{record, seq};
    asio::co_spawn(host_->state().executor, store(user, std::move(record), seq), asio::detached);
  }

  asio::awaitable<void> store(Jid user, Record record, std::uint64_t seq) {
    auto job = [domain = std::string(user.domain()), local = std::string(user.local()),
                value = encode(record)](storage::Stores& s) {
      return s.data.set(domain, local, kKey, value);
    };
    try {
      const storage::Result result = co_await run_storage(*host_->state().storage, std::move(job));
      if (result != storage::Result::Ok) {
        host_->log().info("last activity of {} not stored: {}", user.full(),
                          storage::to_string(result));
      }
    } catch (const std::exception& e) {
      host_->log().error("last activity of {} not stored: {}", user.full(), e.what());
    }
    // A later logout's record stays until its own write is done.
    if (auto it = pending_.find(user.full()); it != pending_.end() && it->second.seq == seq) {
      pending_.erase(it);
    }
  }

  struct Pending {
    Record record;
    std::uint64_t seq;
  };

  Host* host_ = nullptr;
  std::chrono::steady_clock::time_point started_;
  // Logouts whose record the storage thread has not written yet, by bare JID.
  std::unordered_map<std::string, Pending> pending_;
  std::uint64_t writes_ = 0;
};

}  // namespace

std::unique_ptr<Module> make_last() { return std::make_unique<Last>(); }

}  // namespace parley::core::modules
