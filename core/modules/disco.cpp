// XEP-0030 Service Discovery: disco#info and disco#items of the server (identity server/im) and
// of an account's bare JID (identity account/registered). The features listed are exactly those
// the host's attached modules declared (Host::add_feature), so nothing unimplemented is advertised.
#include <boost/asio/awaitable.hpp>

#include "core/modules/modules.hpp"
#include "xml/element.hpp"

namespace parley::core::modules {

namespace {

namespace asio = boost::asio;
constexpr std::string_view kInfo = "http://jabber.org/protocol/disco#info";
constexpr std::string_view kItems = "http://jabber.org/protocol/disco#items";

class Disco final : public Module {
 public:
  void attach(Host& host) override {
    for (IqTarget target : {IqTarget::Host, IqTarget::Account}) {
      host.add_feature(target, kInfo);
      host.add_feature(target, kItems);
      host.handle_iq(target, kInfo, "query", [&host, target](IqRequest& request) {
        return info(host, target, request);
      });
      host.handle_iq(target, kItems, "query", [&host](IqRequest& request) {
        return items(host, request);
      });
    }
  }

 private:
  static asio::awaitable<void> info(Host& host, IqTarget target, IqRequest& request) {
    if (!request.is_get()) {
      co_await host.reply_error(request, StanzaError::FeatureNotImplemented);
      co_return;
    }
    // §3.1: nodes we do not have are item-not-found. XEP-0115 caps nodes name the server's info.
    const std::string_view node = request.payload.attr("node");
    const std::string caps_node = "https://parley.chat#" + host.caps_hash();
    if (!node.empty() && (target != IqTarget::Host || node != caps_node)) {
      co_await host.reply_error(request, StanzaError::ItemNotFound);
      co_return;
    }
    xml::Document info = xml::Document::create("query", kInfo);
    if (!node.empty()) info.root().set_attr("node", node);
    xml::Element identity = info.root().append_child("identity");
    if (target == IqTarget::Host) {
      identity.set_attr("category", "server");
      identity.set_attr("type", "im");
      identity.set_attr("name", "Parley");
    } else {
      identity.set_attr("category", "account");
      identity.set_attr("type", "registered");
    }
    for (const auto& var : host.features(target)) {
      info.root().append_child("feature").set_attr("var", var);
    }
    co_await host.reply(request, std::move(info));
  }

  static asio::awaitable<void> items(Host& host, IqRequest& request) {
    if (!request.is_get()) {
      co_await host.reply_error(request, StanzaError::FeatureNotImplemented);
      co_return;
    }
    if (!request.payload.attr("node").empty()) {
      co_await host.reply_error(request, StanzaError::ItemNotFound);
      co_return;
    }
    // No services (MUC, upload…) on subdomains yet, and accounts publish no items.
    co_await host.reply(request, xml::Document::create("query", kItems));
  }
};

}  // namespace

std::unique_ptr<Module> make_disco() { return std::make_unique<Disco>(); }

}  // namespace parley::core::modules
