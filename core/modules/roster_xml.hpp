// The jabber:iq:roster item element (RFC 6121 §2.1.2), shared by the roster module and roster
// pushes.
#pragma once

#include <string_view>

#include "storage/roster_store.hpp"
#include "xml/element.hpp"

namespace parley::core::modules {

inline constexpr std::string_view kRosterNs = "jabber:iq:roster";

// Appends <item jid name subscription ask approved><group/>…</item> to `query`; `removed` writes
// subscription='remove' and nothing else (§2.5.2).
inline void append_roster_item(xml::Element query, const storage::RosterItem& item, bool removed) {
  xml::Element e = query.append_child("item", kRosterNs);
  e.set_attr("jid", item.jid);
  if (removed) {
    e.set_attr("subscription", "remove");
    return;
  }
  if (!item.name.empty()) e.set_attr("name", item.name);
  e.set_attr("subscription", storage::to_string(item.subscription));
  if (item.ask) e.set_attr("ask", "subscribe");
  if (item.approved) e.set_attr("approved", "true");
  for (const auto& g : item.groups) e.append_child("group", kRosterNs).append_text(g);
}

}  // namespace parley::core::modules
