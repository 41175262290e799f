// XEP-0054 vcard-temp: an account's vCard, set by the account itself and readable by anyone (§3,
// §5: vCards are world-readable), kept as the <vCard/> element's XML in AccountDataStore under
// "vcard". The server itself has no vCard.
#include <spdlog/logger.h>

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "core/modules/modules.hpp"
#include "core/server_state.hpp"
#include "core/storage_bridge.hpp"
#include "storage/worker.hpp"
#include "xml/element.hpp"
#include "xml/writer.hpp"

namespace parley::core::modules {

namespace {

namespace asio = boost::asio;
constexpr std::string_view kVcard = "vcard-temp";
constexpr std::string_view kKey = "vcard";  // AccountDataStore key
// The XEP sets no limit. XEP-0153 §4.6 asks avatars to stay under 8 KiB, so this leaves room for a
// photo and every field many times over while bounding what one account can store.
constexpr std::size_t kMaxVcardBytes = 64 * 1024;

// An element stored as xml::serialize() wrote it, parsed again: wrapped in an <iq/>, it goes
// through Stanza::parse's stream parser and its limits. An empty Document when it does not parse.
xml::Document parse_stored(std::string_view bytes, std::string_view domain) {
  std::string iq = "<iq from='";
  iq += domain;
  iq += "'>";
  iq += bytes;
  iq += "</iq>";
  const StanzaPtr parsed = Stanza::parse(iq);
  if (!parsed || !parsed->root().first_child()) return {};
  return xml::Document::copy_of(parsed->root().first_child());
}

class Vcard final : public Module {
 public:
  void attach(Host& host) override {
    // §4: the server announces the protocol; an account's bare JID is where vCards live.
    for (IqTarget target : {IqTarget::Host, IqTarget::Account}) host.add_feature(target, kVcard);
    host.handle_iq(IqTarget::Account, kVcard, "vCard",
                   [&host](IqRequest& request) { return account(host, request); });
    host.handle_iq(IqTarget::Host, kVcard, "vCard",
                   [&host](IqRequest& request) { return server(host, request); });
  }

 private:
  static asio::awaitable<void> account(Host& host, IqRequest& request) {
    const Jid owner = request.to().bare();
    const bool own = request.from().same_bare(owner);
    if (request.is_get()) {
      co_await get(host, request, owner, own);
    } else if (!own) {
      // §3.2: "forbidden" (or not-allowed) for a set on another user's vCard.
      co_await host.reply_error(request, StanzaError::Forbidden, "a vCard is set by its owner");
    } else {
      co_await set(host, request, owner);
    }
  }

  static asio::awaitable<void> get(Host& host, IqRequest& request, Jid owner, bool own) {
    auto job = [domain = std::string(owner.domain()), local = std::string(owner.local())](
                   storage::Stores& s) { return s.data.get(domain, local, kKey); };
    const std::optional<std::string> stored =
        co_await run_storage(*host.state().storage, std::move(job));
    xml::Document vcard;
    if (stored) {
      vcard = parse_stored(*stored, host.domain());
      if (!vcard) host.log().warn("the stored vCard of {} does not parse; ignored", owner.full());
    }
    if (vcard) {
      co_await host.reply(request, std::move(vcard));
    } else if (own) {
      // §3.1: for one's own missing vCard, an error or an empty <vCard/>; the empty vCard is
      // what a client about to create one expects, and no error needs explaining.
      co_await host.reply(request, xml::Document::create("vCard", kVcard));
    } else {
      // §3.3: service-unavailable, the same condition as for an account that does not exist
      // (RFC 6121 §8.5.1, the router's answer), so that vCards do not reveal which accounts do.
      co_await host.reply_error(request, StanzaError::ServiceUnavailable);
    }
  }

  // §3.2: the whole vCard replaces the stored one (there are no partial updates); an empty one
  // removes it.
  static asio::awaitable<void> set(Host& host, IqRequest& request, Jid owner) {
    std::optional<std::string> value;
    if (request.payload.first_child()) {
      value = xml::serialize(request.payload);
      if (value->size() > kMaxVcardBytes) {
        // RFC 6120 §8.3.3.9: the request does not meet a criterion of the server (XEP-0060
        // §7.1.3.5 answers a payload too big the same way).
        co_await host.reply_error(
            request, StanzaError::NotAcceptable,
            "a vCard is limited to " + std::to_string(kMaxVcardBytes) + " bytes");
        co_return;
      }
    }
    auto job = [domain = std::string(owner.domain()), local = std::string(owner.local()),
                value = std::move(value)](storage::Stores& s) {
      if (!value) {
        s.data.remove(domain, local, kKey);
        return storage::Result::Ok;
      }
      return s.data.set(domain, local, kKey, *value);
    };
    const storage::Result result = co_await run_storage(*host.state().storage, std::move(job));
    if (result != storage::Result::Ok) {
      // The account was deleted meanwhile (RFC 6121 §8.5.1).
      co_await host.reply_error(request, StanzaError::ServiceUnavailable);
      co_return;
    }
    co_await host.reply(request);
  }

  // The server has no vCard of its own: a get finds none (§3.3), a set is on someone else's.
  static asio::awaitable<void> server(Host& host, IqRequest& request) {
    if (request.is_get()) {
      co_await host.reply_error(request, StanzaError::ServiceUnavailable);
    } else {
      co_await host.reply_error(request, StanzaError::Forbidden, "the server has no vCard to set");
    }
  }
};

}  // namespace

std::unique_ptr<Module> make_vcard() { return std::make_unique<Vcard>(); }

}  // namespace parley::core::modules
