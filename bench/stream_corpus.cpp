// The benchmark corpus: the server-to-client half of a busy c2s stream (jabber:client), i.e. what
// a client receives. The parse cost does not depend on the direction.
//
// After the stream header comes one <stream:features/> (bind, sm, csi, caps: a prefixed element in
// the stream namespace), then stanzas drawn at random with these weights (per stanza; the byte
// shares follow from the sizes: describe() and the benchmark's context give the exact figures of
// the default corpus):
//
//   weight  kind          typical size  content
//   ------  ------------  ------------  ----------------------------------------------------------
//     30    chat          250–900 B     <message type='chat'> with a <body> (15% of the body
//                                       fragments non-ASCII UTF-8: accents, Cyrillic, Greek,
//                                       Arabic, CJK, emoji; 12% with &amp; &lt; &gt; &quot; &apos;
//                                       or character references; some multi-line; 1% in a CDATA
//                                       section), origin-id/stanza-id (XEP-0359), receipt request
//                                       (XEP-0184), chat state (XEP-0085), markable (XEP-0333),
//                                       sometimes xml:lang; 20% are groupchat messages from a MUC
//                                       (with occupant-id); 5% carry XHTML-IM (XEP-0071: mixed
//                                       content, two nested default namespaces).
//     22    receipt       150–250 B     a message carrying only <received/> (XEP-0184),
//                                       <displayed/> (XEP-0333) or a chat state (<composing/>,
//                                       <paused/>, <active/>, <inactive/>), sometimes a hint.
//     22    presence      100–700 B     available presences with <show>, <status> (some
//                                       non-ASCII), <priority>, XEP-0115 caps <c/>, vcard-temp
//                                       photo hash, sometimes <delay/> or <idle/>; MUC occupant
//                                       presences (<x xmlns='…muc#user'><item/>); unavailable.
//     14    mam           600–1300 B    XEP-0313 results: <message><result xmlns='urn:xmpp:mam:2'>
//                                       <forwarded xmlns='urn:xmpp:forward:0'><delay
//                                       xmlns='urn:xmpp:delay'/><message xmlns='jabber:client'>
//                                       <body/>… (bodies as for chat).
//      6    iq-small      100–400 B     XEP-0199 pings, empty iq results, MAM <fin/> with RSM
//      <set/>. 3    disco         1.5–3 KiB     disco#info results: an identity, 15–45 <feature/>,
//      and a
//                                       XEP-0128 data form (software version info); 30% of them
//                                       pretty-printed with indentation (whitespace-only text).
//      2    sm            30–50 B       XEP-0198 <r/> and <a h=''/> nonzas.
//    0.7    large         ~10 KiB       a vCard (vcard-temp) with a base64 PHOTO wrapped at 76
//                                       columns, or a message with a ~10 KiB pasted log body.
//    0.4    roster        7–30 KiB      roster results (jabber:iq:roster), 50–200 <item jid name
//                                       subscription><group/></item>, some non-ASCII names, a few
//                                       with &apos; and &amp; in attribute values.
//
// Between stanzas: nothing (60%), a newline (30%), or a whitespace keepalive (10%).
// All attribute values use single quotes (as most XMPP software writes them).
#include "bench/stream_corpus.hpp"

#include <array>
#include <cstdio>
#include <span>

namespace parley::bench {
namespace {

// splitmix64: tiny, fast, and fully specified (unlike the std:: distributions).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (the modulo bias is irrelevant here).
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  // Uniform in [lo, hi].
  std::size_t between(std::size_t lo, std::size_t hi) { return lo + below(hi - lo + 1); }
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
  std::string_view pick(std::span<const std::string_view> items) {
    return items[below(items.size())];
  }

 private:
  std::uint64_t s_;
};

// ---------------------------------------------------------------------------------------------
// Vocabulary. Text and attribute values below are already XML-escaped where needed.

constexpr std::array<std::string_view, 24> kUsers = {
    "alice", "bob",    "carol",   "dave", "eve",    "frank",    "grace",  "heidi",
    "ivan",  "judy",   "mallory", "niaj", "olivia", "peggy",    "rupert", "sybil",
    "trent", "victor", "walter",  "zoë",  "josé",   "françois", "søren",  "tanaka"};
constexpr std::array<std::string_view, 5> kDomains = {
    "example.com", "example.net", "jabber.example.org", "chat.example.de", "xmpp.example.jp"};
constexpr std::array<std::string_view, 8> kResources = {
    "Conversations.Xk3f", "gajim.7HQ2LM", "balcony",   "Dino.b4c1",
    "Monal-iOS.9f2e",     "orchard",      "laptop-42", "phone"};
constexpr std::array<std::string_view, 4> kRooms = {
    "devs@conference.example.com", "coffee@conference.example.net", "xsf@muc.example.org",
    "計画@conference.example.jp"};
constexpr std::string_view kSelfBare = "juliet@example.com";
constexpr std::string_view kSelfFull = "juliet@example.com/balcony";

// Plain ASCII body fragments.
constexpr std::array<std::string_view, 20> kAscii = {
    "Are we still on for lunch tomorrow?",
    "I pushed the fix to the branch, can you review it when you have a minute?",
    "ok",
    "Thanks!",
    "The build is green again.",
    "Running 10 minutes late, sorry.",
    "Did you see the new release notes? The changelog is huge this time.",
    "lol",
    "Can you send me the slides from yesterday's meeting?",
    "brb",
    "Meeting moved to 3pm, same room.",
    "Sure, sounds good to me.",
    "The server restarted at 04:12 UTC and everything came back up.",
    "Happy birthday!!!",
    "I'll call you later tonight.",
    "Where did you park?",
    "https://example.com/photos/2026/03/IMG_2041.jpg",
    "Let me check and get back to you.",
    "Good morning :)",
    "See you at the station at 8."};
// Fragments with entity and character references.
constexpr std::array<std::string_view, 10> kEntities = {
    "Tom &amp; Jerry is on tonight",
    "if (a &lt; b &amp;&amp; b &gt; c) return;",
    "She said &quot;see you there&quot; and left",
    "it&apos;s fine, don&apos;t worry",
    "x &lt;= 3 &amp;&amp; y &gt;= 4",
    "R&amp;D budget: 12k &#8364; (approved)",
    "&lt;div class=&quot;note&quot;&gt;hello&lt;/div&gt;",
    "Q&amp;A at 5",
    "&#169; 2026 Example Corp &#x2014; all rights reserved",
    "AT&amp;T, Procter &amp; Gamble, Marks &amp; Spencer"};
// Non-ASCII fragments: accents, other scripts, CJK, emoji.
constexpr std::array<std::string_view, 16> kUnicode = {"Ça va très bien, merci ! À demain.",
                                                       "¿Dónde está la estación de tren?",
                                                       "Größe: 12 µm — naïve façade, déjà vu.",
                                                       "今日は本当にありがとうございました。",
                                                       "你好，我们明天下午三点见面吧！",
                                                       "회의는 3시에 시작합니다.",
                                                       "🎉🎉 Congrats!! 🥳",
                                                       "👍",
                                                       "❤️ see you soon 😘",
                                                       "Привет, как дела? Давно не виделись.",
                                                       "مرحبا، كيف حالك؟",
                                                       "Καλημέρα! Τι κάνεις;",
                                                       "Smørrebrød og æblekage på søndag 🍰",
                                                       "東京は雨です ☔ 傘を持ってきてね",
                                                       "😂😂😂",
                                                       "Zażółć gęślą jaźń."};
constexpr std::array<std::string_view, 12> kStatus = {"Out to lunch 🍔",
                                                      "In a meeting",
                                                      "Working from home",
                                                      "Busy, ping me if urgent",
                                                      "On vacation until Monday ☀️",
                                                      "Listening to music 🎧",
                                                      "zzz",
                                                      "Au bureau",
                                                      "仕事中",
                                                      "Back soon",
                                                      "Commuting 🚆",
                                                      "Available"};
constexpr std::array<std::string_view, 4> kShow = {"away", "chat", "dnd", "xa"};
constexpr std::array<std::string_view, 6> kCapsNodes = {
    "https://conversations.im", "https://gajim.org", "https://dino.im",
    "https://monal-im.org",     "http://psi-im.org", "https://poez.io"};
constexpr std::array<std::string_view, 8> kGroups = {
    "Friends", "Family", "Work", "Colleagues", "Football &amp; Beer", "Uni", "Voisins", "家族"};
constexpr std::array<std::string_view, 4> kSubscriptions = {"both", "both", "to", "from"};
constexpr std::array<std::string_view, 45> kFeatures = {
    "http://jabber.org/protocol/caps",
    "http://jabber.org/protocol/disco#info",
    "http://jabber.org/protocol/disco#items",
    "http://jabber.org/protocol/chatstates",
    "http://jabber.org/protocol/muc",
    "http://jabber.org/protocol/nick",
    "http://jabber.org/protocol/nick+notify",
    "http://jabber.org/protocol/bytestreams",
    "http://jabber.org/protocol/si",
    "http://jabber.org/protocol/si/profile/file-transfer",
    "http://jabber.org/protocol/ibb",
    "http://jabber.org/protocol/xhtml-im",
    "jabber:iq:version",
    "jabber:iq:last",
    "jabber:x:conference",
    "jabber:x:oob",
    "urn:xmpp:avatar:metadata+notify",
    "urn:xmpp:bookmarks:1+notify",
    "urn:xmpp:chat-markers:0",
    "urn:xmpp:receipts",
    "urn:xmpp:ping",
    "urn:xmpp:time",
    "urn:xmpp:message-correct:0",
    "urn:xmpp:reactions:0",
    "urn:xmpp:reply:0",
    "urn:xmpp:sid:0",
    "urn:xmpp:mam:2",
    "urn:xmpp:carbons:2",
    "urn:xmpp:jingle:1",
    "urn:xmpp:jingle:apps:rtp:1",
    "urn:xmpp:jingle:apps:rtp:audio",
    "urn:xmpp:jingle:apps:rtp:video",
    "urn:xmpp:jingle:apps:file-transfer:5",
    "urn:xmpp:jingle:transports:ice-udp:1",
    "urn:xmpp:jingle:transports:s5b:1",
    "urn:xmpp:jingle-message:0",
    "urn:xmpp:omemo:2:devices+notify",
    "eu.siacs.conversations.axolotl.devicelist+notify",
    "urn:xmpp:http:upload:0",
    "urn:xmpp:idle:1",
    "urn:xmpp:hints",
    "urn:xmpp:eme:0",
    "urn:xmpp:sfs:0",
    "urn:xmpp:styling:0",
    "urn:xmpp:spoiler:0"};
constexpr std::array<std::string_view, 5> kClientNames = {"Conversations", "Gajim", "Dino", "Monal",
                                                          "Psi+"};

constexpr std::string_view kNsChatStates = "http://jabber.org/protocol/chatstates";

// ---------------------------------------------------------------------------------------------
// A small serialiser: start(), attr(), text(), end(), optionally pretty-printed.

class Xml {
 public:
  explicit Xml(std::string& out, bool pretty = false) : out_(out), pretty_(pretty) {}

  Xml& start(std::string_view name) {
    close_start_tag();
    if (!stack_.empty()) stack_.back().has_children = true;
    if (pretty_ && !stack_.empty()) indent(stack_.size());
    out_ += '<';
    out_ += name;
    stack_.push_back({name, false, false});
    open_ = true;
    return *this;
  }
  // value: already escaped, without single quotes.
  Xml& attr(std::string_view name, std::string_view value) {
    out_ += ' ';
    out_ += name;
    out_ += "='";
    out_ += value;
    out_ += '\'';
    return *this;
  }
  // escaped: already escaped character data.
  Xml& text(std::string_view escaped) {
    close_start_tag();
    stack_.back().has_text = true;
    out_ += escaped;
    return *this;
  }
  Xml& end() {
    Open top = stack_.back();
    stack_.pop_back();
    if (open_) {
      out_ += "/>";
      open_ = false;
      return *this;
    }
    if (pretty_ && top.has_children && !top.has_text) indent(stack_.size());
    out_ += "</";
    out_ += top.name;
    out_ += '>';
    return *this;
  }
  // <name>text</name>
  Xml& leaf(std::string_view name, std::string_view escaped) {
    return start(name).text(escaped).end();
  }

 private:
  struct Open {
    std::string_view name;
    bool has_children;
    bool has_text;
  };
  void close_start_tag() {
    if (open_) {
      out_ += '>';
      open_ = false;
    }
  }
  void indent(std::size_t depth) {
    out_ += '\n';
    out_.append(2 * depth, ' ');
  }

  std::string& out_;
  bool pretty_;
  bool open_ = false;
  std::vector<Open> stack_;
};

// ---------------------------------------------------------------------------------------------

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  std::string id() {
    // Most clients use UUIDs; some use short random ids.
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    if (rng_.chance(0.7)) {
      for (int i = 0; i < 36; ++i) {
        s += (i == 8 || i == 13 || i == 18 || i == 23) ? '-' : kHex[rng_.below(16)];
      }
    } else {
      static constexpr char kAlnum[] =
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
      const std::size_t n = rng_.between(8, 16);
      for (std::size_t i = 0; i < n; ++i) s += kAlnum[rng_.below(sizeof kAlnum - 1)];
    }
    return s;
  }
  std::string bare() {
    std::string s(rng_.pick(kUsers));
    s += '@';
    s += rng_.pick(kDomains);
    return s;
  }
  std::string full() {
    std::string s = bare();
    s += '/';
    s += rng_.pick(kResources);
    return s;
  }
  std::string stamp() {
    char buf[40];
    std::snprintf(buf, sizeof buf, "2026-%02zu-%02zuT%02zu:%02zu:%02zu.%03zuZ", rng_.between(1, 12),
                  rng_.between(1, 28), rng_.below(24), rng_.below(60), rng_.below(60),
                  rng_.below(1000));
    return buf;
  }
  std::string hex(std::size_t n) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += kHex[rng_.below(16)];
    return s;
  }
  std::string base64(std::size_t raw_bytes, std::size_t wrap) {
    static constexpr char kB64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string s;
    std::size_t col = 0;
    for (std::size_t i = 0; i < raw_bytes; i += 3) {
      const std::uint64_t v = rng_.next();
      for (int k = 0; k < 4; ++k) {
        if (wrap != 0 && col == wrap) {
          s += '\n';
          col = 0;
        }
        s += kB64[(v >> (6 * k)) & 63];
        ++col;
      }
    }
    return s;
  }
  // A message body: 1–4 fragments, mostly ASCII, some with references, some non-ASCII.
  std::string body() {
    std::string s;
    const std::size_t parts = rng_.chance(0.6) ? 1 : rng_.between(2, 4);
    for (std::size_t i = 0; i < parts; ++i) {
      if (i != 0) s += rng_.chance(0.15) ? "\n" : " ";
      const double r = static_cast<double>(rng_.below(1000)) / 1000.0;
      if (r < 0.15) {
        s += rng_.pick(kUnicode);
      } else if (r < 0.27) {
        s += rng_.pick(kEntities);
      } else {
        s += rng_.pick(kAscii);
      }
    }
    return s;
  }

  // --- stanzas ------------------------------------------------------------------------------

  void chat(std::string& out) {
    Xml x(out);
    const bool groupchat = rng_.chance(0.2);
    std::string from;
    if (groupchat) {
      from = std::string(rng_.pick(kRooms)) + "/" + std::string(rng_.pick(kUsers));
    } else {
      from = full();
    }
    x.start("message").attr("from", from).attr("to", kSelfFull);
    x.attr("type", groupchat ? "groupchat" : "chat").attr("id", id());
    if (rng_.chance(0.25)) x.attr("xml:lang", rng_.chance(0.7) ? "en" : "fr");
    if (rng_.chance(0.01)) {
      // Some (older) clients wrap bodies in CDATA sections.
      x.leaf("body", "<![CDATA[" + std::string(rng_.pick(kAscii)) + " <3 & more]]>");
    } else {
      x.leaf("body", body());
    }
    if (rng_.chance(0.05)) {  // XEP-0071 XHTML-IM: mixed content
      x.start("html").attr("xmlns", "http://jabber.org/protocol/xhtml-im");
      x.start("body").attr("xmlns", "http://www.w3.org/1999/xhtml").start("p");
      x.text(rng_.pick(kAscii)).text(" ").leaf("strong", rng_.pick(kUnicode)).text(" ");
      x.start("a").attr("href", "https://example.com/?a=1&amp;b=2").text("link").end();
      x.text("!").end().end().end();
    }
    if (rng_.chance(0.6))
      x.start("origin-id").attr("xmlns", "urn:xmpp:sid:0").attr("id", id()).end();
    if (rng_.chance(0.5)) {
      x.start("stanza-id").attr("xmlns", "urn:xmpp:sid:0").attr("id", id());
      x.attr("by", groupchat ? from.substr(0, from.find('/')) : std::string(kSelfBare)).end();
    }
    if (groupchat && rng_.chance(0.5)) {
      x.start("occupant-id").attr("xmlns", "urn:xmpp:occupant-id:0").attr("id", hex(40)).end();
    }
    if (!groupchat && rng_.chance(0.6)) x.start("request").attr("xmlns", "urn:xmpp:receipts").end();
    if (rng_.chance(0.5)) x.start("active").attr("xmlns", kNsChatStates).end();
    if (rng_.chance(0.4)) x.start("markable").attr("xmlns", "urn:xmpp:chat-markers:0").end();
    x.end();
  }

  void receipt(std::string& out) {
    Xml x(out);
    x.start("message").attr("from", full()).attr("to", kSelfFull);
    const std::size_t k = rng_.below(10);
    if (k < 4) {
      x.attr("id", id()).attr("type", "chat");
      x.start("received").attr("xmlns", "urn:xmpp:receipts").attr("id", id()).end();
    } else if (k < 6) {
      x.attr("id", id()).attr("type", "chat");
      x.start("displayed").attr("xmlns", "urn:xmpp:chat-markers:0").attr("id", id()).end();
      if (rng_.chance(0.5)) x.start("store").attr("xmlns", "urn:xmpp:hints").end();
    } else {
      static constexpr std::array<std::string_view, 4> kStates = {"composing", "paused", "active",
                                                                  "inactive"};
      x.attr("type", "chat");
      if (rng_.chance(0.5)) x.attr("id", id());
      x.start(rng_.pick(kStates)).attr("xmlns", kNsChatStates).end();
      if (rng_.chance(0.4)) x.start("no-store").attr("xmlns", "urn:xmpp:hints").end();
    }
    x.end();
  }

  void presence(std::string& out) {
    Xml x(out);
    const std::size_t k = rng_.below(10);
    if (k == 0) {  // unavailable
      x.start("presence").attr("from", full()).attr("to", kSelfBare).attr("type", "unavailable");
      if (rng_.chance(0.3)) x.leaf("status", rng_.pick(kStatus));
      x.end();
      return;
    }
    const bool muc = k <= 3;
    std::string from;
    if (muc) {
      from = std::string(rng_.pick(kRooms)) + "/" + std::string(rng_.pick(kUsers));
    } else {
      from = full();
    }
    x.start("presence").attr("from", from).attr("to", kSelfFull);
    if (rng_.chance(0.4)) x.attr("id", id());
    if (rng_.chance(0.1)) x.attr("xml:lang", "en");
    if (rng_.chance(0.4)) x.leaf("show", rng_.pick(kShow));
    if (rng_.chance(0.4)) x.leaf("status", rng_.pick(kStatus));
    if (!muc && rng_.chance(0.7)) x.leaf("priority", rng_.chance(0.5) ? "0" : "5");
    x.start("c").attr("xmlns", "http://jabber.org/protocol/caps").attr("hash", "sha-1");
    x.attr("node", rng_.pick(kCapsNodes)).attr("ver", base64(20, 0).substr(0, 27) + "=").end();
    if (rng_.chance(0.6)) {
      x.start("x").attr("xmlns", "vcard-temp:x:update").leaf("photo", hex(40)).end();
    }
    if (muc) {
      static constexpr std::array<std::string_view, 4> kAffiliations = {"none", "member", "admin",
                                                                        "owner"};
      static constexpr std::array<std::string_view, 3> kRoles = {"participant", "moderator",
                                                                 "visitor"};
      x.start("x").attr("xmlns", "http://jabber.org/protocol/muc#user");
      x.start("item").attr("affiliation", rng_.pick(kAffiliations));
      x.attr("role", rng_.pick(kRoles)).attr("jid", full()).end();
      if (rng_.chance(0.2)) x.start("status").attr("code", "110").end();
      x.end();
      if (rng_.chance(0.5)) {
        x.start("occupant-id").attr("xmlns", "urn:xmpp:occupant-id:0").attr("id", hex(40)).end();
      }
    }
    if (rng_.chance(0.15)) {
      x.start("delay").attr("xmlns", "urn:xmpp:delay").attr("stamp", stamp());
      x.attr("from", rng_.pick(kDomains)).end();
    } else if (rng_.chance(0.1)) {
      x.start("idle").attr("xmlns", "urn:xmpp:idle:1").attr("since", stamp()).end();
    }
    x.end();
  }

  void mam(std::string& out) {
    Xml x(out);
    x.start("message").attr("to", kSelfFull).attr("id", id());
    x.start("result").attr("xmlns", "urn:xmpp:mam:2").attr("queryid", hex(8));
    x.attr("id", id());
    x.start("forwarded").attr("xmlns", "urn:xmpp:forward:0");
    x.start("delay").attr("xmlns", "urn:xmpp:delay").attr("stamp", stamp()).end();
    const bool outgoing = rng_.chance(0.4);
    x.start("message").attr("xmlns", "jabber:client");
    x.attr("from", outgoing ? std::string(kSelfFull) : full());
    x.attr("to", outgoing ? full() : std::string(kSelfFull));
    x.attr("type", "chat").attr("id", id());
    x.leaf("body", body());
    if (rng_.chance(0.6))
      x.start("origin-id").attr("xmlns", "urn:xmpp:sid:0").attr("id", id()).end();
    if (rng_.chance(0.5)) x.start("request").attr("xmlns", "urn:xmpp:receipts").end();
    if (rng_.chance(0.5)) x.start("active").attr("xmlns", kNsChatStates).end();
    if (rng_.chance(0.2)) {
      x.start("encryption").attr("xmlns", "urn:xmpp:eme:0");
      x.attr("namespace", "eu.siacs.conversations.axolotl").end();
    }
    x.end().end().end().end();
  }

  void iq_small(std::string& out) {
    Xml x(out);
    const std::size_t k = rng_.below(10);
    if (k < 4) {  // ping from the server
      x.start("iq").attr("from", "example.com").attr("to", kSelfFull).attr("id", id());
      x.attr("type", "get").start("ping").attr("xmlns", "urn:xmpp:ping").end().end();
    } else if (k < 8) {  // empty result
      x.start("iq").attr("from", rng_.chance(0.5) ? std::string(kSelfBare) : full());
      x.attr("to", kSelfFull).attr("id", id()).attr("type", "result").end();
    } else {  // MAM fin with RSM
      x.start("iq").attr("to", kSelfFull).attr("id", id()).attr("type", "result");
      x.start("fin")
          .attr("xmlns", "urn:xmpp:mam:2")
          .attr("complete", rng_.chance(0.5) ? "true" : "false");
      x.start("set").attr("xmlns", "http://jabber.org/protocol/rsm");
      x.start("first").attr("index", "0").text(id()).end();
      x.leaf("last", id()).leaf("count", std::to_string(rng_.between(1, 5000)));
      x.end().end().end();
    }
  }

  void disco(std::string& out) {
    Xml x(out, rng_.chance(0.3));
    x.start("iq")
        .attr("from", full())
        .attr("to", kSelfFull)
        .attr("id", id())
        .attr("type", "result");
    const std::string_view client = kClientNames[rng_.below(kClientNames.size())];
    x.start("query").attr("xmlns", "http://jabber.org/protocol/disco#info");
    x.attr("node", std::string(rng_.pick(kCapsNodes)) + "#" + base64(20, 0).substr(0, 27) + "=");
    x.start("identity").attr("category", "client").attr("type", rng_.chance(0.5) ? "phone" : "pc");
    x.attr("name", client).end();
    const std::size_t features = rng_.between(15, kFeatures.size());
    const std::size_t first = rng_.below(kFeatures.size());
    for (std::size_t i = 0; i < features; ++i) {
      x.start("feature").attr("var", kFeatures[(first + i) % kFeatures.size()]).end();
    }
    if (rng_.chance(0.7)) {
      x.start("x").attr("xmlns", "jabber:x:data").attr("type", "result");
      x.start("field").attr("var", "FORM_TYPE").attr("type", "hidden");
      x.leaf("value", "urn:xmpp:dataforms:softwareinfo").end();
      x.start("field").attr("var", "software").leaf("value", client).end();
      x.start("field").attr("var", "software_version").leaf("value", "2.16.4").end();
      x.start("field")
          .attr("var", "os")
          .leaf("value", rng_.chance(0.5) ? "Android" : "Linux")
          .end();
      x.start("field").attr("var", "os_version").leaf("value", "14").end();
      x.end();
    }
    x.end().end();
  }

  void roster(std::string& out) {
    Xml x(out);
    x.start("iq").attr("to", kSelfFull).attr("id", id()).attr("type", "result");
    x.start("query")
        .attr("xmlns", "jabber:iq:roster")
        .attr("ver", "ver" + std::to_string(rng_.between(1, 9999)));
    const std::size_t items = rng_.between(50, 200);
    for (std::size_t i = 0; i < items; ++i) {
      std::string user(rng_.pick(kUsers));
      std::string name = user;
      if (!name.empty() && name[0] >= 'a' && name[0] <= 'z')
        name[0] = static_cast<char>(name[0] - 32);
      user += std::to_string(i);
      x.start("item").attr("jid", user + "@" + std::string(rng_.pick(kDomains)));
      if (rng_.chance(0.05)) {
        x.attr("name", rng_.chance(0.5) ? "Dan O&apos;Brien" : "Ben &amp; Jerry&apos;s");
      } else if (rng_.chance(0.85)) {
        x.attr("name", name + " " + std::string(1, static_cast<char>('A' + rng_.below(26))) + ".");
      }
      x.attr("subscription", rng_.pick(kSubscriptions));
      if (rng_.chance(0.05)) x.attr("ask", "subscribe");
      const std::size_t groups = rng_.chance(0.2) ? 0 : rng_.between(1, 2);
      for (std::size_t g = 0; g < groups; ++g) x.leaf("group", rng_.pick(kGroups));
      x.end();
    }
    x.end().end();
  }

  void large(std::string& out) {
    Xml x(out);
    if (rng_.chance(0.6)) {  // vCard with a photo (~10 KiB)
      const std::string user(rng_.pick(kUsers));
      x.start("iq").attr("from", user + "@" + std::string(rng_.pick(kDomains)));
      x.attr("to", kSelfFull).attr("id", id()).attr("type", "result");
      x.start("vCard").attr("xmlns", "vcard-temp");
      x.leaf("FN", user + " Example");
      x.start("N").leaf("FAMILY", "Example").leaf("GIVEN", user).end();
      x.leaf("NICKNAME", user);
      x.start("EMAIL").start("INTERNET").end().leaf("USERID", user + "@example.com").end();
      x.start("ORG").leaf("ORGNAME", "Example Corp").leaf("ORGUNIT", "R&amp;D").end();
      x.start("PHOTO").leaf("TYPE", "image/jpeg");
      x.start("BINVAL").text(base64(rng_.between(6800, 7800), 76)).end();
      x.end().end().end();
    } else {  // a pasted log as a chat message (~10 KiB)
      x.start("message").attr("from", full()).attr("to", kSelfFull).attr("type", "chat");
      x.attr("id", id());
      std::string text = "here is the log:\n";
      while (text.size() < 10000) {
        text += stamp();
        text += rng_.chance(0.2) ? " WARN " : " INFO ";
        text += rng_.chance(0.3) ? "conn &lt;" + hex(8) + "&gt; " : "";
        text += rng_.pick(kAscii);
        text += '\n';
      }
      x.leaf("body", text);
      x.start("request").attr("xmlns", "urn:xmpp:receipts").end();
      x.end();
    }
  }

  // XEP-0198 stream management: the server's ack requests and answers.
  void sm(std::string& out) {
    Xml x(out);
    if (rng_.chance(0.5)) {
      x.start("r").attr("xmlns", "urn:xmpp:sm:3").end();
    } else {
      x.start("a").attr("xmlns", "urn:xmpp:sm:3").attr("h", std::to_string(rng_.below(100000)));
      x.end();
    }
  }

  // What the server sends after the stream header once authenticated (RFC 6120 §4.3.2).
  void features(std::string& out) {
    Xml x(out);
    x.start("stream:features");
    x.start("bind").attr("xmlns", "urn:ietf:params:xml:ns:xmpp-bind").start("required").end();
    x.end();
    x.start("sm").attr("xmlns", "urn:xmpp:sm:3").end();
    x.start("csi").attr("xmlns", "urn:xmpp:csi:0").end();
    x.start("c").attr("xmlns", "http://jabber.org/protocol/caps").attr("hash", "sha-1");
    x.attr("node", "https://parley.example").attr("ver", base64(20, 0).substr(0, 27) + "=").end();
    x.end();
  }

  void separator(std::string& out) {
    const std::size_t k = rng_.below(10);
    if (k < 3) {
      out += '\n';
    } else if (k == 3) {
      out += ' ';  // whitespace keepalive (RFC 6120 §4.6.1)
    }
  }

  Rng& rng() { return rng_; }

 private:
  Rng rng_;
};

}  // namespace

StreamCorpus make_stream_corpus(std::size_t target_bytes, std::uint64_t seed) {
  struct Entry {
    const char* name;
    double weight;
    void (Generator::*make)(std::string&);
  };
  static constexpr std::array<Entry, 10> kMix = {{
      {"chat", 30, &Generator::chat},
      {"receipt", 22, &Generator::receipt},
      {"presence", 22, &Generator::presence},
      {"mam", 14, &Generator::mam},
      {"iq-small", 6, &Generator::iq_small},
      {"disco", 3, &Generator::disco},
      {"roster", 0.4, &Generator::roster},
      {"large", 0.7, &Generator::large},
      {"sm", 2, &Generator::sm},
      {"features", 0, &Generator::features},  // once, right after the header
  }};
  double total_weight = 0;
  for (const auto& e : kMix) total_weight += e.weight;

  StreamCorpus corpus;
  for (const auto& e : kMix) corpus.kinds.push_back({e.name, 0, 0});
  std::string& out = corpus.bytes;
  out.reserve(target_bytes + 64 * 1024);
  // The server-to-client half of a c2s stream (what a client receives); the parse cost does not
  // depend on the direction.
  out +=
      "<?xml version='1.0'?><stream:stream from='example.com' to='juliet@example.com' "
      "id='c2s-5f1d9a3e-7b7e-4c43-9d1c-2a6f0c8e41b7' version='1.0' xml:lang='en' "
      "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

  Generator gen(seed);
  {
    const std::size_t before = out.size();
    gen.features(out);
    corpus.kinds.back().count += 1;
    corpus.kinds.back().bytes += out.size() - before;
    corpus.stanzas += 1;
  }
  while (out.size() < target_bytes) {
    double r = static_cast<double>(gen.rng().next() >> 11) * 0x1.0p-53 * total_weight;
    std::size_t k = 0;
    while (k + 1 < kMix.size() && r >= kMix[k].weight) r -= kMix[k++].weight;
    const std::size_t before = out.size();
    (gen.*kMix[k].make)(out);
    corpus.kinds[k].count += 1;
    corpus.kinds[k].bytes += out.size() - before;
    corpus.stanzas += 1;
    gen.separator(out);
  }
  out += "</stream:stream>";

  // Every '<' outside CDATA sections opens a tag: text escapes '<', and there are no comments or
  // processing instructions after the XML declaration.
  std::size_t start_tags = 0;
  for (std::size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] != '<') continue;
    if (out.compare(i, 9, "<![CDATA[") == 0) {
      i = out.find("]]>", i);
      continue;
    }
    if (out[i + 1] != '/' && out[i + 1] != '?') ++start_tags;
  }
  corpus.elements = start_tags - 1;  // minus <stream:stream>
  return corpus;
}

std::string describe(const StreamCorpus& corpus) {
  std::string s;
  char line[160];
  std::snprintf(line, sizeof line, "%zu bytes, %zu stanzas, %zu elements in all\n",
                corpus.bytes.size(), corpus.stanzas, corpus.elements);
  s += line;
  for (const auto& k : corpus.kinds) {
    std::snprintf(
        line, sizeof line, "  %-9s %6zu stanzas (%5.1f%%) %9zu bytes (%5.1f%%)\n", k.name.c_str(),
        k.count, 100.0 * static_cast<double>(k.count) / static_cast<double>(corpus.stanzas),
        k.bytes, 100.0 * static_cast<double>(k.bytes) / static_cast<double>(corpus.bytes.size()));
    s += line;
  }
  return s;
}

}  // namespace parley::bench
