#include "federation/dns/resolver.hpp"

#include <ares.h>
#include <idna.h>

#include <algorithm>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>

#include "federation/dns/channel.hpp"

namespace parley::federation::dns {

namespace asio = boost::asio;
using SrvList = std::pair<std::vector<SrvRecord>, std::string>;

namespace detail {

// What the Resolver shares with its lookups, which may outlive it by a moment (the awaitable of a
// lookup not yet started holds it, and then finds the channel shut down).
struct ResolverShared {
  std::shared_ptr<Channel> channel;
  std::chrono::milliseconds timeout;
  RandomSource random;
};

}  // namespace detail

using detail::ResolverShared;

namespace {

using Clock = std::chrono::steady_clock;

// A sentence fragment for a c-ares status, for the log line of a failed connection.
std::string describe(int status) {
  switch (status) {
    case ARES_ENOTFOUND:
      return "no such domain (NXDOMAIN)";
    case ARES_ENODATA:
      return "no records";
    case ARES_ETIMEOUT:
      return "no answer from the DNS servers";
    case ARES_ESERVFAIL:
      return "the DNS server failed (SERVFAIL)";
    case ARES_EREFUSED:
      return "the DNS server refused the query (REFUSED)";
    case ARES_EFORMERR:
      return "the DNS server did not understand the query (FORMERR)";
    case ARES_ENOTIMP:
      return "the DNS server does not implement the query (NOTIMP)";
    case ARES_EBADRESP:
      return "malformed DNS answer";
    case ARES_ECONNREFUSED:
      return "the DNS servers cannot be reached (connection refused)";
    case ARES_EBADNAME:
      return "not a valid domain name";
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
      return "the resolver was shut down";
    default:
      return ares_strerror(status);
  }
}

std::string seconds_text(Clock::duration d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", std::chrono::duration<double>(d).count());
  return text;
}

// RFC 6120 §3.2.1 looks up the domainpart, which may be an IDN; DNS carries A-labels (RFC 5890).
// GNU libidn's IDNA2003 conversion, the same library and generation as JID preparation
// (core/jid.hpp). Empty optional: not a domain name.
std::optional<std::string> to_dns_name(std::string name) {
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (name.empty()) return std::nullopt;
  if (std::all_of(name.begin(), name.end(), [](char c) { return (c & 0x80) == 0; })) return name;
  char* ascii = nullptr;
  if (idna_to_ascii_8z(name.c_str(), &ascii, 0) != IDNA_SUCCESS) {
    std::free(ascii);
    return std::nullopt;
  }
  std::string out(ascii);
  std::free(ascii);
  return out;
}

std::string lowercase(std::string s) {
  for (auto& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// Asks both s2s SRV services of `domain` concurrently (XEP-0368 §3); `done` runs once with both
// answers, their records marked with their service.
void query_both_services(Channel& channel, const std::string& domain,
                         std::function<void(SrvAnswer xmpps, SrvAnswer xmpp)> done) {
  struct State {
    SrvAnswer answers[2];
    int pending = 2;
    std::function<void(SrvAnswer, SrvAnswer)> done;
  };
  auto state = std::make_shared<State>();
  state->done = std::move(done);
  const char* services[2] = {kXmppsServerService, kXmppServerService};
  for (int i = 0; i < 2; ++i) {
    channel.query_srv(std::string(services[i]) + "." + domain,
                      [state, i, service = services[i]](SrvAnswer answer) {
                        for (auto& record : answer.records) {
                          record.service = service;
                          record.direct_tls = i == 0;
                        }
                        state->answers[i] = std::move(answer);
                        if (--state->pending == 0) {
                          state->done(std::move(state->answers[0]), std::move(state->answers[1]));
                        }
                      });
  }
}

// What every lookup shares: the completion handler (called once, always through the executor,
// never from inside c-ares), the bound on the whole lookup, per-operation cancellation. A lookup
// is kept alive by the c-ares callbacks it waits for; the timer and the cancellation slot only
// hold weak references.
template <class T>
class Lookup : public std::enable_shared_from_this<Lookup<T>> {
 public:
  using Handler = asio::any_completion_handler<void(T)>;

  Lookup(std::shared_ptr<ResolverShared> shared, Handler handler)
      : shared_(std::move(shared)),
        handler_(std::move(handler)),
        work_(asio::make_work_guard(shared_->channel->executor())),
        deadline_(shared_->channel->executor()),
        started_(Clock::now()) {}
  virtual ~Lookup() = default;

  void begin() {
    std::weak_ptr<Lookup> weak = this->shared_from_this();
    auto slot = asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) {
      slot.assign([weak](asio::cancellation_type) {
        if (auto self = weak.lock()) {
          // This handler lives in the slot: complete() must not clear the slot under it.
          self->in_cancellation_ = true;
          self->abort("the lookup was cancelled");
          self->in_cancellation_ = false;
        }
      });
    }
    deadline_.expires_after(shared_->timeout);
    deadline_.async_wait([weak](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock(); self && !self->done()) self->expire();
    });
    start();
  }

 protected:
  virtual void start() = 0;
  // The bound ran out: complete with what there is.
  virtual void expire() = 0;
  // Shut down or cancelled: complete with `why`.
  virtual void abort(const std::string& why) = 0;

  bool done() const { return completed_; }
  Channel& channel() { return *shared_->channel; }
  ResolverShared& shared() { return *shared_; }
  std::string elapsed() const { return seconds_text(Clock::now() - started_); }
  std::string timeout_text() const { return "DNS timeout after " + elapsed(); }

  template <class Derived>
  std::shared_ptr<Derived> self() {
    return std::static_pointer_cast<Derived>(this->shared_from_this());
  }

  void complete(T value) {
    if (completed_) return;
    completed_ = true;
    deadline_.cancel();
    auto slot = asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected() && !in_cancellation_) slot.clear();
    // Posted first, so the awaiting coroutine never resumes inside c-ares (or inside the
    // Resolver's destructor); then dispatched to the handler's own executor.
    const auto io = shared_->channel->executor();
    asio::post(io, [io, handler = std::move(handler_), value = std::move(value)]() mutable {
      const auto executor = asio::get_associated_executor(handler, io);
      asio::dispatch(executor, [handler = std::move(handler), value = std::move(value)]() mutable {
        std::move(handler)(std::move(value));
      });
    });
    work_.reset();
  }

 private:
  std::shared_ptr<ResolverShared> shared_;
  Handler handler_;
  asio::executor_work_guard<asio::any_io_executor> work_;
  asio::steady_timer deadline_;
  Clock::time_point started_;
  bool completed_ = false;
  bool in_cancellation_ = false;
};

Result failure(std::string error, bool timed_out = false) {
  Result result;
  result.error = std::move(error);
  result.timed_out = timed_out;
  return result;
}

std::vector<Endpoint> endpoints_of(const AddressAnswer& answer, const std::string& host,
                                   std::uint16_t port, bool direct_tls) {
  std::vector<Endpoint> out;
  for (const auto& address : answer.addresses) {
    out.push_back(Endpoint{asio::ip::tcp::endpoint(address, port), host, direct_tls});
  }
  return out;
}

// A and AAAA of one name (Resolver::resolve_host).
class HostLookup final : public Lookup<Result> {
 public:
  HostLookup(std::shared_ptr<ResolverShared> shared, Handler handler, std::string host,
             std::uint16_t port, bool direct_tls)
      : Lookup(std::move(shared), std::move(handler)),
        host_(std::move(host)),
        port_(port),
        direct_tls_(direct_tls) {}

 private:
  void start() override {
    // A literal needs no DNS (and "[v6]" is how an IPv6 literal is written next to a port).
    std::string literal = host_;
    if (literal.size() > 2 && literal.front() == '[' && literal.back() == ']') {
      literal = literal.substr(1, literal.size() - 2);
    }
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(literal, ec);
    if (!ec) {
      Result result;
      result.endpoints.push_back(
          Endpoint{asio::ip::tcp::endpoint(address, port_), host_, direct_tls_});
      complete(std::move(result));
      return;
    }
    const auto name = to_dns_name(host_);
    if (!name) {
      complete(failure("'" + host_ + "' is not a valid host name"));
      return;
    }
    name_ = *name;
    channel().query_addresses(name_, [self = self<HostLookup>()](AddressAnswer answer) {
      self->on_answer(std::move(answer));
    });
  }

  void on_answer(AddressAnswer answer) {
    if (done()) return;
    if (answer.status == ARES_SUCCESS) {
      Result result;
      result.endpoints = endpoints_of(answer, name_, port_, direct_tls_);
      complete(std::move(result));
    } else if (answer.status == ARES_ETIMEOUT) {
      complete(failure(name_ + ": " + timeout_text(), true));
    } else if (answer.status == ARES_ENODATA) {
      complete(failure(name_ + " has no A or AAAA records"));
    } else {
      complete(failure(name_ + ": " + describe(answer.status)));
    }
  }

  void expire() override { complete(failure(name_ + ": " + timeout_text(), true)); }
  void abort(const std::string& why) override { complete(failure(host_ + ": " + why)); }

  std::string host_;
  std::string name_;
  std::uint16_t port_;
  bool direct_tls_;
};

// RFC 6120 §3.2.1/§3.2.2 with XEP-0368 (Resolver::resolve_s2s).
class S2sLookup final : public Lookup<Result> {
 public:
  S2sLookup(std::shared_ptr<ResolverShared> shared, Handler handler, std::string domain)
      : Lookup(std::move(shared), std::move(handler)), domain_(std::move(domain)) {}

 private:
  struct Target {
    bool answered = false;
    AddressAnswer answer;
  };

  std::string service_name(const char* service) const { return std::string(service) + "." + name_; }

  void start() override {
    const auto name = to_dns_name(domain_);
    if (!name) {
      complete(failure("'" + domain_ + "' is not a valid domain name"));
      return;
    }
    name_ = *name;
    query_both_services(channel(), name_, [self = self<S2sLookup>()](SrvAnswer s, SrvAnswer x) {
      self->on_srv(std::move(s), std::move(x));
    });
  }

  void on_srv(SrvAnswer xmpps, SrvAnswer xmpp) {
    if (done()) return;
    if (xmpps.status == ARES_EDESTRUCTION || xmpp.status == ARES_EDESTRUCTION) {
      abort(describe(ARES_EDESTRUCTION));
      return;
    }
    // Answered with records, none of them usable: a lone "." (RFC 2782), or only "." targets.
    auto refuses = [](const SrvAnswer& a) {
      return a.status == ARES_SUCCESS && !a.records.empty() &&
             std::all_of(a.records.begin(), a.records.end(),
                         [](const SrvRecord& r) { return r.target == "."; });
    };
    std::vector<SrvRecord> candidates;
    for (const SrvAnswer* answer : {&xmpps, &xmpp}) {
      if (answer->status != ARES_SUCCESS) continue;
      for (const auto& record : answer->records) {
        if (record.target != ".") candidates.push_back(record);
      }
    }
    if (!candidates.empty()) {
      resolve_targets(order_srv(std::move(candidates), shared().random));
      return;
    }
    if (refuses(xmpp)) {
      // RFC 6120 §3.2.1 step 3: abort, and no fallback.
      complete(
          failure(service_name(kXmppServerService) + " says the service is not available ('.')"));
      return;
    }
    if (refuses(xmpps)) {
      // XEP-0368 §5: "." only says no direct TLS; but SRV is in use, so no A/AAAA fallback.
      const std::string xmpp_state = xmpp.status == ARES_SUCCESS || xmpp.status == ARES_ENODATA ||
                                             xmpp.status == ARES_ENOTFOUND
                                         ? "has no records"
                                         : "failed: " + describe(xmpp.status);
      complete(failure(
          service_name(kXmppsServerService) + " says direct TLS is not available ('.') and " +
          service_name(kXmppServerService) + " " + xmpp_state + "; no A/AAAA fallback (XEP-0368)"));
      return;
    }
    // No SRV records, or no response to the SRV queries (RFC 6120 §3.2.1): §3.2.2.
    fallback();
  }

  void resolve_targets(std::vector<SrvRecord> ordered) {
    ordered_ = std::move(ordered);
    std::vector<std::string> names;
    for (const auto& record : ordered_) {
      const auto key = lowercase(record.target);
      if (targets_.emplace(key, Target{}).second) names.push_back(record.target);
    }
    // Held at one until every query is started: an answer from the hosts file arrives at once.
    pending_ = names.size() + 1;
    for (const auto& name : names) {
      channel().query_addresses(
          name, [self = self<S2sLookup>(), key = lowercase(name)](AddressAnswer answer) {
            self->on_target(key, std::move(answer));
          });
    }
    if (--pending_ == 0) finish_targets();
  }

  void on_target(const std::string& key, AddressAnswer answer) {
    if (done()) return;
    if (answer.status == ARES_EDESTRUCTION) {
      abort(describe(ARES_EDESTRUCTION));
      return;
    }
    auto& target = targets_[key];
    target.answered = true;
    target.answer = std::move(answer);
    if (--pending_ == 0) finish_targets();
  }

  std::vector<Endpoint> srv_endpoints() const {
    std::vector<Endpoint> out;
    for (const auto& record : ordered_) {
      const auto it = targets_.find(lowercase(record.target));
      if (it == targets_.end() || !it->second.answered) continue;
      if (it->second.answer.status != ARES_SUCCESS) continue;
      auto more = endpoints_of(it->second.answer, record.target, record.port, record.direct_tls);
      out.insert(out.end(), more.begin(), more.end());
    }
    return out;
  }

  void finish_targets() {
    Result result;
    result.from_srv = true;
    result.endpoints = srv_endpoints();
    if (result.endpoints.empty()) {
      // RFC 6120 §3.2.1: SRV answered, so no fallback; say why each target failed.
      std::string reasons;
      bool all_timeouts = true;
      for (const auto& [key, target] : targets_) {
        if (!reasons.empty()) reasons += "; ";
        const int status = target.answer.status;
        reasons +=
            key + ": " + (status == ARES_ENODATA ? "no A or AAAA records" : describe(status));
        all_timeouts = all_timeouts && status == ARES_ETIMEOUT;
      }
      result.error = "none of the SRV targets of " + name_ + " resolved (" + reasons + ")";
      result.timed_out = all_timeouts;
    }
    complete(std::move(result));
  }

  void fallback() {
    fallback_ = true;
    channel().query_addresses(name_, [self = self<S2sLookup>()](AddressAnswer answer) {
      self->on_fallback(std::move(answer));
    });
  }

  void on_fallback(AddressAnswer answer) {
    if (done()) return;
    switch (answer.status) {
      case ARES_SUCCESS:
        break;
      case ARES_ETIMEOUT:
        complete(failure(name_ + ": " + timeout_text(), true));
        return;
      case ARES_ENODATA:
        complete(failure(name_ + " has no SRV, A or AAAA records"));
        return;
      default:
        complete(failure(name_ + ": " + describe(answer.status)));
        return;
    }
    Result result;
    result.endpoints = endpoints_of(answer, name_, kXmppServerPort, false);
    complete(std::move(result));
  }

  void expire() override {
    // Targets still outstanding: those already resolved are still worth trying.
    if (!fallback_ && !ordered_.empty()) {
      Result result;
      result.from_srv = true;
      result.endpoints = srv_endpoints();
      if (!result.endpoints.empty()) {
        complete(std::move(result));
        return;
      }
    }
    complete(failure((name_.empty() ? domain_ : name_) + ": " + timeout_text(), true));
  }

  void abort(const std::string& why) override {
    complete(failure((name_.empty() ? domain_ : name_) + ": " + why));
  }

  std::string domain_;
  std::string name_;  // the domain as asked in DNS (A-labels)
  std::vector<SrvRecord> ordered_;
  std::map<std::string, Target> targets_;  // by lowercased target name
  std::size_t pending_ = 0;
  bool fallback_ = false;
};

// Both SRV services, ordered, for `parley check` (Resolver::lookup_srv).
class SrvLookup final : public Lookup<SrvList> {
 public:
  SrvLookup(std::shared_ptr<ResolverShared> shared, Handler handler, std::string domain)
      : Lookup(std::move(shared), std::move(handler)), domain_(std::move(domain)) {}

 private:
  void start() override {
    const auto name = to_dns_name(domain_);
    if (!name) {
      complete({{}, "'" + domain_ + "' is not a valid domain name"});
      return;
    }
    name_ = *name;
    query_both_services(channel(), name_, [self = self<SrvLookup>()](SrvAnswer s, SrvAnswer x) {
      self->on_srv(std::move(s), std::move(x));
    });
  }

  void on_srv(SrvAnswer xmpps, SrvAnswer xmpp) {
    if (done()) return;
    std::vector<SrvRecord> records;
    std::string error;
    for (const auto& [answer, service] :
         {std::pair{&xmpps, kXmppsServerService}, std::pair{&xmpp, kXmppServerService}}) {
      const int status = answer->status;
      if (status == ARES_SUCCESS) {
        records.insert(records.end(), answer->records.begin(), answer->records.end());
      } else if (status != ARES_ENODATA && status != ARES_ENOTFOUND) {
        if (!error.empty()) error += "; ";
        error += std::string(service) + "." + name_ + ": " +
                 (status == ARES_ETIMEOUT ? timeout_text() : describe(status));
      }
    }
    complete({order_srv(std::move(records), shared().random), std::move(error)});
  }

  void expire() override { complete({{}, name_ + ": " + timeout_text()}); }
  void abort(const std::string& why) override {
    complete({{}, (name_.empty() ? domain_ : name_) + ": " + why});
  }

  std::string domain_;
  std::string name_;
};

// Hands the handler of an awaitable to `start`. Trivially copyable on purpose: see the note on
// StorageInitiation in core/storage_bridge.hpp (g++ 12 copies the initiation bytewise).
template <class T>
struct Initiation {
  std::function<void(asio::any_completion_handler<void(T)>)>* start;

  template <class Handler>
  void operator()(Handler handler) const {
    (*start)(asio::any_completion_handler<void(T)>(std::move(handler)));
  }
};

template <class T>
asio::awaitable<T> run(std::function<void(asio::any_completion_handler<void(T)>)> start) {
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(
      Initiation<T>{&start}, asio::use_awaitable);
}

}  // namespace

Resolver::Resolver(asio::any_io_executor executor, ResolverOptions options) {
  ChannelOptions channel_options;
  channel_options.resolv_conf = options.resolv_conf;
  for (const auto& server : options.servers) {
    channel_options.servers.push_back(parse_server_address(server));
  }
  if (options.timeout <= std::chrono::milliseconds(0)) {
    throw std::runtime_error("the DNS timeout must be positive");
  }
  // Two rounds: the first try, then one of twice its length (c-ares doubles it each round), so a
  // query to one silent server gives up after half the bound and the fallback still has time.
  channel_options.try_timeout = std::max(options.timeout / 6, std::chrono::milliseconds(1));
  channel_options.tries = 2;
  shared_ = std::make_shared<ResolverShared>();
  shared_->channel = Channel::create(std::move(executor), channel_options);
  shared_->timeout = options.timeout;
  shared_->random = options.random ? std::move(options.random) : default_random_source();
}

Resolver::~Resolver() {
  // Lookups hold `shared_` (and through it the channel) only while c-ares holds their callbacks;
  // shutting the channel down runs those callbacks now, and the lookups complete.
  shared_->channel->shutdown();
}

asio::awaitable<Result> Resolver::resolve_s2s(std::string domain) {
  return run<Result>([shared = shared_, domain = std::move(domain)](auto handler) mutable {
    std::make_shared<S2sLookup>(shared, std::move(handler), std::move(domain))->begin();
  });
}

asio::awaitable<Result> Resolver::resolve_host(std::string host, std::uint16_t port,
                                               bool direct_tls) {
  return run<Result>(
      [shared = shared_, host = std::move(host), port, direct_tls](auto handler) mutable {
        std::make_shared<HostLookup>(shared, std::move(handler), std::move(host), port, direct_tls)
            ->begin();
      });
}

asio::awaitable<SrvList> Resolver::lookup_srv(std::string domain) {
  return run<SrvList>([shared = shared_, domain = std::move(domain)](auto handler) mutable {
    std::make_shared<SrvLookup>(shared, std::move(handler), std::move(domain))->begin();
  });
}

std::vector<std::string> Resolver::servers() const { return shared_->channel->servers(); }

}  // namespace parley::federation::dns
