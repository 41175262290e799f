// An incoming server-to-server link (RFC 6120 §4-§6, XEP-0178, XEP-0220, XEP-0368): a remote
// server connected to our 5269 (STARTTLS) or 5270 (direct TLS) port. It offers STARTTLS (required
// by default), then SASL EXTERNAL when the peer's certificate validates for the domain it claims,
// and dialback. Dialback requests are checked with the peer's certificate when it validates
// (XEP-0344 §2.4), else with a db:verify to the claimed domain's authoritative server over our
// outgoing link; db:verify requests for keys we issued are answered from the secret.
//
// Every stanza must come from a domain this stream authenticated, for a domain we serve
// (RFC 6120 §13.7.1, XEP-0220 §4.3); nothing is routed before authentication.
//
// Thread-safety: none; the server's io thread.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "federation/s2s_stream.hpp"

namespace parley::federation {

class Manager;

class IncomingLink final : public S2sStream {
 public:
  IncomingLink(Manager& manager, boost::asio::ip::tcp::socket socket, bool direct_tls,
               std::uint64_t number);
  ~IncomingLink() override;

  void start() { start_io(); }
  // XEP-0288: a stanza for the peer over this stream (it asked for a bidirectional stream and
  // authenticated the domain pair). REQUIRES: registered with Manager::register_bidi.
  void send_to_peer(const core::Stanza& stanza) { send_stanza(stanza); }
  bool usable() const { return state() == State::Open; }
  // Ends the stream (system-shutdown, idle).
  void shutdown(xml::StreamError condition, std::string_view reason) {
    stream_error(condition, reason);
  }

 private:
  boost::asio::awaitable<bool> prelude() override;
  void on_header(const xml::StreamHeader& header) override;
  boost::asio::awaitable<void> on_element(xml::Document element) override;
  void on_closed() override;

  void send_features();
  boost::asio::awaitable<void> on_starttls();
  void on_sasl_auth(xml::Element auth);
  void on_dialback_result(xml::Element result);
  void on_dialback_verify(xml::Element verify);
  boost::asio::awaitable<void> on_stanza(xml::Document document);
  // Whether the peer's certificate validates for `domain` (cached per domain).
  bool certificate_valid_for(const std::string& domain);
  void dialback_answer(const std::string& local, const std::string& remote, std::string_view type,
                       std::string_view error_condition = {});
  void arm_idle_timer();
  // A (remote, local) pair is authenticated now.
  void authorize(const std::string& remote, const std::string& local);
  std::shared_ptr<IncomingLink> self();

  Manager& manager_;
  const bool direct_tls_;
  std::string local_;      // our domain the stream is addressed to
  std::string claimed_;    // the 'from' of the peer's stream header
  std::string stream_id_;  // ours, for dialback keys
  bool sasl_done_ = false;
  bool bidi_ = false;  // XEP-0288 requested by the peer
  // (remote domain, local domain) pairs this stream authenticated.
  std::set<std::pair<std::string, std::string>> authorized_;
  std::set<std::pair<std::string, std::string>> dialback_pending_;
  std::map<std::string, bool> certificate_cache_;
  boost::asio::steady_timer idle_;
};

}  // namespace parley::federation
