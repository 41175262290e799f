// XEP-0202 Entity Time: the server answers urn:xmpp:time queries to its domain with the time in
// UTC and its offset, which is always +00:00: a server's local time zone tells a client nothing
// it needs and would reveal where the machine stands (§6).
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/modules/modules.hpp"
#include "xml/element.hpp"

namespace parley::core::modules {

namespace {

namespace asio = boost::asio;
constexpr std::string_view kTime = "urn:xmpp:time";

// XEP-0082 §3.2 dateTime, in UTC ("Z").
std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

class Time final : public Module {
 public:
  void attach(Host& host) override {
    host.add_feature(IqTarget::Host, kTime);  // §4
    host.handle_iq(IqTarget::Host, kTime, "time",
                   [&host](IqRequest& request) { return answer(host, request); });
  }

 private:
  static asio::awaitable<void> answer(Host& host, IqRequest& request) {
    if (!request.is_get()) {
      // §2 defines only a get; nobody may set the server's clock (RFC 6120 §8.3.3.10).
      co_await host.reply_error(request, StanzaError::NotAllowed, "the time can only be read");
      co_return;
    }
    // §2: <tzo/> (XEP-0082 TZD) and <utc/> are both REQUIRED.
    xml::Document time = xml::Document::create("time", kTime);
    time.root().append_child("tzo").append_text("+00:00");
    time.root().append_child("utc").append_text(utc_now());
    co_await host.reply(request, std::move(time));
  }
};

}  // namespace

std::unique_ptr<Module> make_time() { return std::make_unique<Time>(); }

}  // namespace parley::core::modules
