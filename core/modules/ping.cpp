// XEP-0199 XMPP Ping: the server answers pings to itself (§4.2) and, on an account's behalf, to
// the account's bare JID.
#include "core/modules/modules.hpp"

namespace parley::core::modules {

namespace {

constexpr std::string_view kPing = "urn:xmpp:ping";

class Ping final : public Module {
 public:
  void attach(Host& host) override {
    for (IqTarget target : {IqTarget::Host, IqTarget::Account}) {
      host.add_feature(target, kPing);
      host.handle_iq(target, kPing, "ping", [&host](IqRequest& request) -> boost::asio::awaitable<void> {
        if (!request.is_get()) {
          co_await host.reply_error(request, StanzaError::BadRequest, "a ping is an IQ get");
          co_return;
        }
        co_await host.reply(request);
      });
    }
  }
};

}  // namespace

std::unique_ptr<Module> make_ping() { return std::make_unique<Ping>(); }

}  // namespace parley::core::modules
