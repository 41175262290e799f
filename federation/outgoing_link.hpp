// An outgoing server-to-server link from one of our domains to a remote domain (RFC 6120 §3.2,
// §5, §6; XEP-0368; XEP-0178; XEP-0220): resolves the remote domain (a static [[s2s.route]] or
// DNS SRV, then A/AAAA), connects to each candidate in turn (direct TLS for _xmpps-server),
// negotiates STARTTLS, validates the peer's certificate, authenticates with SASL EXTERNAL when the
// peer offers it and falls back to dialback on the same stream when that fails or is not offered.
// Stanzas queue until then. It also carries our dialback verification requests (db:verify) to the
// remote domain's authoritative server.
//
// Thread-safety: none; the server's io thread.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/stanza_error.hpp"
#include "federation/s2s_stream.hpp"

namespace parley::federation {

class Manager;

class OutgoingLink final : public S2sStream {
 public:
  OutgoingLink(Manager& manager, std::string local, std::string remote, std::uint64_t number);
  ~OutgoingLink() override;

  // Starts resolving and connecting. REQUIRES: called once.
  void start();
  // Sends the stanza once the link is authenticated; queues it until then. When the queue is full
  // the sender gets resource-constraint.
  void enqueue(core::StanzaPtr stanza);
  // XEP-0220 §2.3.1: sends <db:verify/> for a stream that claims to come from our remote domain
  // and waits for the answer. nullopt when the link failed before answering.
  boost::asio::awaitable<std::optional<bool>> verify(std::string stream_id, std::string key);

  const std::string& local() const { return local_; }
  const std::string& remote() const { return remote_; }
  bool ready() const { return phase_ == Phase::Ready; }
  // Takes stanzas: not failed, not closing.
  bool usable() const;
  // How it authenticated: "SASL EXTERNAL", "dialback"; "" before.
  const std::string& method() const { return method_; }

 private:
  enum class Phase : std::uint8_t { Connecting, Negotiating, StartTls, Sasl, Dialback, Ready };
  struct PendingVerify {
    std::optional<bool> answer;
    bool done = false;
    std::shared_ptr<boost::asio::steady_timer> wake;
  };

  boost::asio::awaitable<bool> prelude() override;
  void on_header(const xml::StreamHeader& header) override;
  boost::asio::awaitable<void> on_element(xml::Document element) override;
  void on_closed() override;

  boost::asio::awaitable<bool> connect();
  boost::asio::awaitable<void> on_features(xml::Element features);
  void authenticate();
  void send_dialback();
  void send_pending_verifies();
  void on_ready();
  // Records why the link failed (for the errors of queued stanzas) and ends the stream.
  void fail(core::StanzaError condition, std::string reason);
  void arm_idle_timer();
  void finish_verifies();

  Manager& manager_;
  const std::string local_;
  const std::string remote_;
  Phase phase_ = Phase::Connecting;
  std::string stream_id_;
  bool peer_has_version_ = true;
  bool peer_offers_dialback_ = false;
  bool tried_external_ = false;
  bool sasl_succeeded_ = false;
  bool can_verify_ = false;  // TLS done (or not required): db:verify may go out
  bool certificate_valid_ = false;
  bool bidi_ = false;  // XEP-0288 requested: the peer may send us stanzas over this stream
  std::string method_;
  std::deque<core::StanzaPtr> queue_;
  std::vector<std::pair<std::string, std::string>> verifies_to_send_;  // (stream id, key)
  std::map<std::string, PendingVerify> verifies_;                      // by stream id
  core::StanzaError failure_ = core::StanzaError::RemoteServerNotFound;
  std::string failure_text_ = "the connection to the remote server closed";
  boost::asio::steady_timer deadline_;
  boost::asio::steady_timer idle_;
};

}  // namespace parley::federation
