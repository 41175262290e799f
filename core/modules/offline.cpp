// XEP-0160 offline messages: a chat or normal message for an account with no available resource
// of non-negative priority (RFC 6121 §8.5.2.2.1) is stored with a XEP-0203 <delay/> stamp, and
// delivered when a resource of the account sends initial presence with a non-negative priority.
// The message is in SQLite before the router moves on (a storage job the sender's stream waits
// for); a full store (Limits::max_offline_messages) refuses it, and the sender gets
// service-unavailable (XEP-0160 §3). Messages the sender asked not to store (XEP-0334
// <no-store/>) or that carry nothing to read later (a chat state alone) are dropped instead.
#include <spdlog/logger.h>

#include <boost/asio/co_spawn.hpp>
#include <chrono>
#include <ctime>

#include "core/c2s_session.hpp"
#include "core/modules/modules.hpp"
#include "core/server_state.hpp"
#include "core/storage_bridge.hpp"
#include "storage/worker.hpp"

namespace parley::core::modules {

namespace {

namespace asio = boost::asio;
constexpr std::string_view kDelay = "urn:xmpp:delay";
constexpr std::string_view kHints = "urn:xmpp:hints";
constexpr std::string_view kChatStates = "http://jabber.org/protocol/chatstates";

// XEP-0082 date-time, UTC, with milliseconds.
std::string timestamp(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

// Whether a later reader gains anything from the message: a body, a subject, or any payload
// other than chat states and processing hints.
bool worth_storing(const Stanza& message) {
  const xml::Element root = message.root();
  if (root.child("no-store", kHints)) return false;
  for (xml::Element e = root.first_child(); e; e = e.next_sibling()) {
    if (e.ns() == kChatStates || e.ns() == kHints) continue;
    if (e.name() == "thread") continue;
    return true;
  }
  return false;
}

class Offline final : public Module {
 public:
  void attach(Host& host) override {
    host_ = &host;
    host.add_feature(IqTarget::Host, "msgoffline");  // XEP-0160 §4
    host.hook(Hook::Offline, 100, [this](StanzaEvent& e) { return store(e); });
    host.on_session(SessionEvent::Available, [this](const std::shared_ptr<C2sSession>& session) {
      if (session->presence().priority < 0) return;  // §3: not for negative priority
      asio::co_spawn(host_->state().executor, deliver(session), [this](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& error) {
          host_->log().error("offline delivery: {}", error.what());
        }
      });
    });
  }

 private:
  asio::awaitable<bool> store(StanzaEvent& event) {
    const Stanza& message = *event.stanza;
    if (!worth_storing(message)) co_return true;  // dropped silently, like a headline
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    // XEP-0203: when and by whom it was delayed.
    xml::Document copy = message.copy();
    xml::Element delay = copy.root().append_child("delay", kDelay);
    delay.set_attr("from", host_->domain());
    delay.set_attr("stamp", timestamp(now));
    delay.append_text("Offline Storage");
    auto stamped = Stanza::make(std::move(copy), message.from(), message.to());
    const Jid& to = *message.to();
    const auto max = host_->state().config->limits.max_offline_messages;
    auto job = [domain = std::string(to.domain()), user = std::string(to.local()),
                bytes = stamped->bytes(), now, max](storage::Stores& s) {
      return s.offline.store(domain, user, bytes, now, max);
    };
    const auto result = co_await run_storage(*host_->state().storage, std::move(job));
    if (result == storage::Result::Ok) co_return true;
    host_->log().info("offline storage of {} is full; message from {} refused", to.full(),
                      message.from().full());
    co_return false;  // the router answers service-unavailable
  }

  asio::awaitable<void> deliver(std::shared_ptr<C2sSession> session) {
    const Jid user = session->jid()->bare();
    auto job = [domain = std::string(user.domain()),
                local = std::string(user.local())](storage::Stores& s) {
      return s.offline.messages(domain, local);
    };
    const auto messages = co_await run_storage(*host_->state().storage, std::move(job));
    if (messages.empty() || !session->is_open() || !session->presence().available) co_return;
    std::int64_t last = 0;
    for (const auto& m : messages) {
      if (auto stanza = Stanza::parse(m.stanza)) {
        session->deliver(stanza);
      } else {
        host_->log().warn("offline message {} of {} cannot be parsed; dropped", m.id, user.full());
      }
      last = m.id;
    }
    auto remove = [domain = std::string(user.domain()), local = std::string(user.local()),
                   last](storage::Stores& s) { return s.offline.remove_up_to(domain, local, last); };
    co_await run_storage(*host_->state().storage, std::move(remove));
    host_->log().info("delivered {} offline message(s) to {}", messages.size(),
                      session->jid()->full());
  }

  Host* host_ = nullptr;
};

}  // namespace

std::unique_ptr<Module> make_offline() { return std::make_unique<Offline>(); }

}  // namespace parley::core::modules
