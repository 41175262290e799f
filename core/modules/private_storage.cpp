// XEP-0049 Private XML Storage: an account keeps XML fragments on its server, each under the
// namespace of its root element, readable and writable by that account alone. The fragments of
// one namespace are kept together in AccountDataStore under "private:<namespace>".
#include <spdlog/logger.h>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/modules/modules.hpp"
#include "core/server_state.hpp"
#include "core/storage_bridge.hpp"
#include "storage/worker.hpp"
#include "xml/element.hpp"
#include "xml/writer.hpp"

namespace parley::core::modules {

namespace {

namespace asio = boost::asio;
constexpr std::string_view kPrivate = "jabber:iq:private";
// The XEP sets no limit; bookmarks (XEP-0048) and client preferences fit easily.
constexpr std::size_t kMaxBytesPerNamespace = 64 * 1024;

std::string key_of(std::string_view ns) { return "private:" + std::string(ns); }

// §2.3: no namespace of its own (the element inherits jabber:iq:private), or one of the reserved
// namespaces: those beginning with 'jabber:' or 'http://jabber.org/', and 'vcard-temp'.
bool reserved(std::string_view ns) {
  return ns.empty() || ns.starts_with("jabber:") || ns.starts_with("http://jabber.org/") ||
         ns == "vcard-temp";
}

// The fragments stored for one namespace (xml::serialize() of each, one after the other), parsed
// again inside a <query/>: wrapped in an <iq/>, they go through Stanza::parse's stream parser and
// its limits. An empty Document when they do not parse.
xml::Document parse_stored(std::string_view bytes, std::string_view domain) {
  std::string iq = "<iq from='";
  iq += domain;
  iq += "'><query xmlns='";
  iq += kPrivate;
  iq += "'>";
  iq += bytes;
  iq += "</query></iq>";
  const StanzaPtr parsed = Stanza::parse(iq);
  if (!parsed || !parsed->root().first_child()) return {};
  return xml::Document::copy_of(parsed->root().first_child());
}

class PrivateStorage final : public Module {
 public:
  void attach(Host& host) override {
    // The XEP defines no disco feature; the namespace is advertised where it is served.
    host.add_feature(IqTarget::Account, kPrivate);
    host.handle_iq(IqTarget::Account, kPrivate, "query",
                   [&host](IqRequest& request) { return handle(host, request); });
  }

 private:
  static asio::awaitable<void> handle(Host& host, IqRequest& request) {
    // §2.3 and §4: another user's data is forbidden (preferable to service-unavailable).
    if (!request.from().same_bare(request.to())) {
      co_await host.reply_error(request, StanzaError::Forbidden,
                                "private data is accessible to its owner only");
      co_return;
    }
    std::vector<xml::Element> children;
    for (xml::Element child : request.payload.children()) children.push_back(child);
    // §2.3: at least one child element with a proper namespace, else not-acceptable (the
    // "Bad Format" it also mentions for an empty get is no RFC 6120 condition).
    if (children.empty()) {
      co_await host.reply_error(request, StanzaError::NotAcceptable,
                                "the query holds an element in the namespace to store or get");
      co_return;
    }
    for (const xml::Element& child : children) {
      if (reserved(child.ns())) {
        // §2.3, §3: reserved namespaces are not-acceptable.
        co_await host.reply_error(request, StanzaError::NotAcceptable,
                                  "the element's namespace is reserved or missing");
        co_return;
      }
    }
    const Jid owner = request.to().bare();
    if (request.is_get()) {
      co_await get(host, request, owner, children);
    } else {
      co_await set(host, request, owner, children);
    }
  }

  static asio::awaitable<void> get(Host& host, IqRequest& request, Jid owner,
                                   std::vector<xml::Element> children) {
    const std::string ns(children.front().ns());
    for (const xml::Element& child : children) {
      if (child.ns() != ns) {
        // §2.3: a client MUST NOT ask for more than one namespace in one get.
        co_await host.reply_error(request, StanzaError::BadRequest,
                                  "a get asks for one namespace at a time");
        co_return;
      }
    }
    auto job = [domain = std::string(owner.domain()), local = std::string(owner.local()),
                key = key_of(ns)](storage::Stores& s) { return s.data.get(domain, local, key); };
    const std::optional<std::string> stored =
        co_await run_storage(*host.state().storage, std::move(job));
    if (stored) {
      if (xml::Document query = parse_stored(*stored, host.domain())) {
        co_await host.reply(request, std::move(query));
        co_return;
      }
      host.log().warn("the private data of {} in {} does not parse; ignored", owner.full(), ns);
    }
    // Nothing stored: the query comes back as it was sent (§2.3's example, and what clients of
    // other servers expect).
    co_await host.reply(request, xml::Document::copy_of(request.payload));
  }

  // §2.3: a set may hold several elements of one namespace; they replace what that namespace
  // held. Elements of several namespaces are stored each under its own.
  static asio::awaitable<void> set(Host& host, IqRequest& request, Jid owner,
                                   std::vector<xml::Element> children) {
    std::vector<std::pair<std::string, std::string>> values;  // key, fragments
    for (const xml::Element& child : children) {
      const std::string key = key_of(child.ns());
      auto it = std::find_if(values.begin(), values.end(),
                             [&key](const auto& value) { return value.first == key; });
      if (it == values.end()) {
        values.emplace_back(key, std::string());
        it = std::prev(values.end());
      }
      it->second += xml::serialize(child);
      if (it->second.size() > kMaxBytesPerNamespace) {
        // RFC 6120 §8.3.3.9: the request does not meet a criterion of the server.
        co_await host.reply_error(request, StanzaError::NotAcceptable,
                                  "private data is limited to " +
                                      std::to_string(kMaxBytesPerNamespace) +
                                      " bytes per namespace");
        co_return;
      }
    }
    auto job = [domain = std::string(owner.domain()), local = std::string(owner.local()),
                values = std::move(values)](storage::Stores& s) {
      for (const auto& [key, value] : values) {
        const storage::Result result = s.data.set(domain, local, key, value);
        if (result != storage::Result::Ok) return result;
      }
      return storage::Result::Ok;
    };
    const storage::Result result = co_await run_storage(*host.state().storage, std::move(job));
    if (result != storage::Result::Ok) {
      // The account was deleted meanwhile (RFC 6121 §8.5.1).
      co_await host.reply_error(request, StanzaError::ServiceUnavailable);
      co_return;
    }
    co_await host.reply(request);
  }
};

}  // namespace

std::unique_ptr<Module> make_private_storage() { return std::make_unique<PrivateStorage>(); }

}  // namespace parley::core::modules
