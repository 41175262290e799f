// XEP-0092 Software Version: the server answers jabber:iq:version queries to its domain with its
// name and version. The operating system (<os/>, OPTIONAL in §2) is never revealed: §5 asks for a
// way to withhold it, and withholding it always is the simplest such way (Prosody does the same
// by default).
#include <boost/asio/awaitable.hpp>

#include "core/modules/modules.hpp"
#include "xml/element.hpp"

#ifndef PARLEY_VERSION
#error "PARLEY_VERSION is defined for parley_modules by core/modules/CMakeLists.txt"
#endif

namespace parley::core::modules {

namespace {

namespace asio = boost::asio;
constexpr std::string_view kVersion = "jabber:iq:version";

class Version final : public Module {
 public:
  void attach(Host& host) override {
    host.add_feature(IqTarget::Host, kVersion);  // §4
    host.handle_iq(IqTarget::Host, kVersion, "query",
                   [&host](IqRequest& request) { return answer(host, request); });
  }

 private:
  static asio::awaitable<void> answer(Host& host, IqRequest& request) {
    if (!request.is_get()) {
      // §2 defines only a get; nobody may set a server's version (RFC 6120 §8.3.3.10).
      co_await host.reply_error(request, StanzaError::NotAllowed, "the version can only be read");
      co_return;
    }
    // §2: <name/> and <version/> are REQUIRED in a result.
    xml::Document query = xml::Document::create("query", kVersion);
    query.root().append_child("name").append_text("Parley");
    query.root().append_child("version").append_text(PARLEY_VERSION);
    co_await host.reply(request, std::move(query));
  }
};

}  // namespace

std::unique_ptr<Module> make_version() { return std::make_unique<Version>(); }

}  // namespace parley::core::modules
