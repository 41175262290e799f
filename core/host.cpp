#include "core/host.hpp"

#include <openssl/sha.h>
#include <spdlog/logger.h>

#include <algorithm>
#include <stdexcept>

#include "core/config.hpp"
#include "core/router.hpp"
#include "core/sasl/base64.hpp"
#include "core/server_state.hpp"
#include "xml/namespaces.hpp"

namespace parley::core {

namespace asio = boost::asio;

namespace {

std::string iq_key(IqTarget target, std::string_view ns, std::string_view element) {
  std::string key(target == IqTarget::Host ? "h|" : "a|");
  key += ns;
  key += '|';
  key += element;
  return key;
}

}  // namespace

std::vector<const ModuleInfo*> enabled_modules(const VirtualHost& host,
                                               const std::vector<ModuleInfo>& available) {
  auto find = [&](const std::string& name) -> const ModuleInfo* {
    for (const auto& m : available) {
      if (m.name == name) return &m;
    }
    std::string known;
    for (const auto& m : available) known += (known.empty() ? "" : ", ") + m.name;
    throw std::invalid_argument("the [[host]] " + host.domain + " names the module '" + name +
                                "', which does not exist; the modules are: " + known);
  };
  for (const auto& name : host.disabled_modules) (void)find(name);
  auto disabled = [&](const std::string& name) {
    return std::find(host.disabled_modules.begin(), host.disabled_modules.end(), name) !=
           host.disabled_modules.end();
  };
  std::vector<const ModuleInfo*> out;
  if (host.modules) {
    for (const auto& name : *host.modules) {
      const ModuleInfo* m = find(name);
      if (!disabled(name)) out.push_back(m);
    }
  } else {
    for (const auto& m : available) {
      if (m.enabled_by_default && !disabled(m.name)) out.push_back(&m);
    }
  }
  return out;
}

Host::Host(ServerState& state, std::string domain)
    : state_(state), domain_(std::move(domain)), jid_(*Jid::parse(domain_)) {}

Host::~Host() = default;

Router& Host::router() { return *state_.router; }
spdlog::logger& Host::log() { return *state_.log; }

const VirtualHost& Host::config() const {
  const VirtualHost* host = state_.config->host(domain_);
  return host != nullptr ? *host : state_.config->default_host();
}

void Host::hook(Hook hook, int priority, StanzaHandler handler) {
  auto& list = hooks_[static_cast<std::size_t>(hook)];
  list.push_back(Entry{priority, next_order_++, std::move(handler)});
  std::stable_sort(list.begin(), list.end(), [](const Entry& a, const Entry& b) {
    return a.priority != b.priority ? a.priority < b.priority : a.order < b.order;
  });
}

void Host::handle_iq(IqTarget target, std::string_view ns, std::string_view element,
                     IqHandler handler) {
  iq_handlers_[iq_key(target, ns, element)] = std::move(handler);
}

void Host::on_delivered(DeliveredHandler handler) { delivered_.push_back(std::move(handler)); }

void Host::on_session(SessionEvent event, SessionHandler handler) {
  session_handlers_[static_cast<std::size_t>(event)].push_back(std::move(handler));
}

void Host::add_feature(IqTarget target, std::string_view var) {
  features_[static_cast<std::size_t>(target)].emplace(var);
  caps_hash_.clear();
}

void Host::attach(const ModuleInfo& info) {
  auto module = info.make();
  module->attach(*this);
  modules_.push_back(std::move(module));
  module_names_.push_back(info.name);
}

const std::string& Host::caps_hash() const {
  if (caps_hash_.empty()) {
    // XEP-0115 §5.1: identities "category/type/lang/name<", then features, each followed by '<'.
    std::string s = "server/im//Parley<";
    for (const auto& f : features_[static_cast<std::size_t>(IqTarget::Host)]) {
      s += f;
      s += '<';
    }
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
    caps_hash_ = sasl::base64_encode(
        std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
  }
  return caps_hash_;
}

asio::awaitable<bool> Host::fire(Hook hook, StanzaEvent& event) {
  // By index, and each handler copied before it runs: a registration while a handler is
  // suspended may reallocate the list.
  const auto& list = hooks_[static_cast<std::size_t>(hook)];
  for (std::size_t i = 0; i < list.size(); ++i) {
    const StanzaHandler handler = list[i].handler;
    if (co_await handler(event)) co_return true;
  }
  co_return false;
}

const IqHandler* Host::iq_handler(IqTarget target, std::string_view ns,
                                  std::string_view element) const {
  auto it = iq_handlers_.find(iq_key(target, ns, element));
  return it == iq_handlers_.end() ? nullptr : &it->second;
}

void Host::fire_delivered(const StanzaPtr& stanza,
                          const std::vector<std::shared_ptr<C2sSession>>& sessions) {
  for (const auto& handler : delivered_) handler(stanza, sessions);
}

void Host::fire_session(SessionEvent event, const std::shared_ptr<C2sSession>& session) {
  for (const auto& handler : session_handlers_[static_cast<std::size_t>(event)]) handler(session);
}

asio::awaitable<void> Host::reply(const IqRequest& request, std::optional<xml::Document> payload) {
  xml::Document reply = xml::Document::create("iq", xml::ns::kClient);
  xml::Element root = reply.root();
  if (auto id = request.stanza->root().find_attr("id")) root.set_attr("id", *id);
  root.set_attr("type", "result");
  if (payload) root.append_copy(payload->root());
  auto stanza = Stanza::make(std::move(reply), request.to(), request.from());
  co_await router().route(std::move(stanza));
}

asio::awaitable<void> Host::reply_error(const IqRequest& request, StanzaError condition,
                                        std::string_view text) {
  co_await router().bounce(*request.stanza, condition, text);
}

}  // namespace parley::core
