#include "xml/canonicalize.hpp"

#include <cstring>

#include "xml/namespaces.hpp"

namespace parley::xml::detail {
namespace {

std::optional<std::string_view> lookup(const std::vector<NsBinding>& scope,
                                       std::string_view prefix) {
  if (prefix == "xml") return ns::kXml;
  for (auto it = scope.rbegin(); it != scope.rend(); ++it) {
    if (it->prefix == prefix) return it->uri;
  }
  return std::nullopt;
}

NsError nwf(std::string text) { return {StreamError::NotWellFormed, std::move(text)}; }

bool is_decl(const char* name) {
  return name[0] == 'x' && std::strncmp(name, "xmlns", 5) == 0 && (name[5] == 0 || name[5] == ':');
}

// xml:lang, xml:space...: the xml prefix is bound by definition and cannot be rebound, so these
// need no declaration and cannot collide with another prefix's attribute.
bool is_xml_prefixed(const char* name) {
  return name[0] == 'x' && name[1] == 'm' && name[2] == 'l' && name[3] == ':';
}

// Replaces CDATA sections by text and merges adjacent texts among the children of n.
void merge_texts(pugi::xml_node n) {
  pugi::xml_node c = n.first_child();
  while (c) {
    pugi::xml_node next = c.next_sibling();
    if (c.type() == pugi::node_cdata || c.type() == pugi::node_pcdata) {
      std::string merged = c.value();
      bool changed = c.type() == pugi::node_cdata;
      while (next && (next.type() == pugi::node_cdata || next.type() == pugi::node_pcdata)) {
        merged += next.value();
        pugi::xml_node after = next.next_sibling();
        n.remove_child(next);
        next = after;
        changed = true;
      }
      if (merged.empty()) {
        n.remove_child(c);  // an empty CDATA section is no text at all
      } else if (changed) {
        pugi::xml_node t = n.insert_child_before(pugi::node_pcdata, c);
        t.set_value(merged.data(), merged.size());
        n.remove_child(c);
      }
    }
    c = next;
  }
}

struct Canonicalizer {
  std::vector<NsBinding>& scope;
  bool merge_text;

  std::optional<NsError> element(pugi::xml_node e, std::string_view parent_ns, bool is_root) {
    const std::size_t mark = scope.size();
    bool has_prefix_decl = false;
    bool has_prefixed_attr = false;
    pugi::xml_attribute default_decl;
    std::size_t attr_count = 0;
    for (pugi::xml_attribute a = e.first_attribute(); a; a = a.next_attribute()) {
      ++attr_count;
      const char* name = a.name();
      if (is_decl(name)) {
        const bool is_default = name[5] == 0;
        std::string_view prefix = is_default ? std::string_view{} : std::string_view(name + 6);
        std::string_view uri = a.value();
        if (auto err = check_declaration(prefix, uri, is_default)) return err;
        scope.push_back({prefix, uri});
        if (is_default) {
          default_decl = a;
        } else {
          has_prefix_decl = true;
        }
      } else if (!is_xml_prefixed(name) && std::strchr(name, ':') != nullptr) {
        has_prefixed_attr = true;
      }
    }

    // The element's own name.
    const char* qname = e.name();
    const char* colon = std::strchr(qname, ':');
    std::string_view ns;
    if (colon != nullptr) {
      std::string_view prefix(qname, static_cast<std::size_t>(colon - qname));
      if (prefix == "xmlns")
        return nwf("element <" + std::string(qname) + "> uses the xmlns prefix");
      auto uri = lookup(scope, prefix);
      if (!uri) {
        return nwf("unbound namespace prefix '" + std::string(prefix) + "' on element <" +
                   std::string(qname) + ">");
      }
      ns = *uri;
    } else {
      ns = lookup(scope, "").value_or(std::string_view{});
    }

    // Attributes: prefixes bound, no duplicates by qualified or by expanded name.
    if (attr_count > 1 || has_prefixed_attr) {
      for (pugi::xml_attribute a = e.first_attribute(); a; a = a.next_attribute()) {
        for (pugi::xml_attribute b = a.next_attribute(); b; b = b.next_attribute()) {
          if (std::strcmp(a.name(), b.name()) == 0) {
            return nwf("duplicate attribute '" + std::string(a.name()) + "' on element <" +
                       std::string(qname) + ">");
          }
        }
      }
    }
    if (has_prefixed_attr) {
      std::vector<std::pair<std::string_view, std::string_view>> expanded;
      for (pugi::xml_attribute a = e.first_attribute(); a; a = a.next_attribute()) {
        const char* name = a.name();
        if (is_decl(name)) continue;
        const char* c = std::strchr(name, ':');
        if (c == nullptr) {
          expanded.emplace_back(std::string_view{}, name);
          continue;
        }
        std::string_view prefix(name, static_cast<std::size_t>(c - name));
        auto uri = lookup(scope, prefix);
        if (!uri || prefix == "xmlns") {
          return nwf("unbound namespace prefix '" + std::string(prefix) + "' on attribute '" +
                     std::string(name) + "'");
        }
        std::pair<std::string_view, std::string_view> key{*uri, std::string_view(c + 1)};
        for (const auto& k : expanded) {
          if (k == key) {
            return nwf("attribute '" + std::string(name) + "' duplicates another by namespace");
          }
        }
        expanded.push_back(key);
      }
    }

    // Rewrite into canonical form.
    if (colon != nullptr) {
      // Copy first: pugixml may copy in place, and the source overlaps the target.
      std::string local(colon + 1);
      e.set_name(local.c_str());
    }
    const bool want_decl = is_root || ns != parent_ns;
    if (default_decl) {
      if (ns != default_decl.value()) {
        // A prefixed element that also declares a default namespace: its own namespace is the
        // prefix's. Replace the attribute rather than its value: the scope still refers to the
        // declared default (for the children), and pugixml would overwrite it in place.
        e.remove_attribute(default_decl);
        e.prepend_attribute("xmlns").set_value(ns.data(), ns.size());
      }
    } else if (want_decl) {
      e.prepend_attribute("xmlns").set_value(ns.data(), ns.size());
    }
    if (has_prefix_decl || has_prefixed_attr) rewrite_prefix_declarations(e);

    if (merge_text) merge_texts(e);
    for (pugi::xml_node c = e.first_child(); c; c = c.next_sibling()) {
      if (c.type() != pugi::node_element) continue;
      if (auto err = element(c, ns, false)) return err;
    }
    scope.resize(mark);
    return std::nullopt;
  }

  // Keeps exactly the `xmlns:p` declarations that this element's own prefixed attributes use.
  void rewrite_prefix_declarations(pugi::xml_node e) {
    // Which prefixes do the attributes use?
    std::vector<std::string_view> used;
    for (pugi::xml_attribute a = e.first_attribute(); a; a = a.next_attribute()) {
      const char* name = a.name();
      if (is_decl(name)) continue;
      const char* c = std::strchr(name, ':');
      if (c == nullptr) continue;
      std::string_view prefix(name, static_cast<std::size_t>(c - name));
      if (prefix != "xml") used.push_back(prefix);
    }
    // Drop the declarations nobody on this element uses.
    for (pugi::xml_attribute a = e.first_attribute(); a;) {
      pugi::xml_attribute next = a.next_attribute();
      const char* name = a.name();
      if (is_decl(name) && name[5] == ':') {
        std::string_view prefix(name + 6);
        bool keep = false;
        for (auto u : used) keep = keep || u == prefix;
        if (!keep) e.remove_attribute(a);
      }
      a = next;
    }
    // Declare here the prefixes that were declared on an ancestor.
    for (auto prefix : used) {
      std::string decl = "xmlns:" + std::string(prefix);
      if (!e.attribute(decl.c_str())) {
        auto uri = lookup(scope, prefix).value_or(std::string_view{});
        e.append_attribute(decl.c_str()).set_value(uri.data(), uri.size());
      }
    }
  }
};

}  // namespace

std::optional<NsError> check_declaration(std::string_view prefix, std::string_view uri,
                                         bool is_default) {
  if (uri == ns::kXmlns) return nwf("the xmlns namespace cannot be declared");
  if (is_default) {
    if (uri == ns::kXml) return nwf("the XML namespace cannot be the default namespace");
    return std::nullopt;
  }
  if (uri.empty()) {
    return nwf("namespace prefix '" + std::string(prefix) + "' declared with an empty name");
  }
  if (prefix == "xmlns") return nwf("the xmlns prefix cannot be declared");
  if ((prefix == "xml") != (uri == ns::kXml)) {
    return nwf("the xml prefix and the XML namespace are bound only to each other");
  }
  return std::nullopt;
}

std::optional<NsError> canonicalize(pugi::xml_node root, std::vector<NsBinding>& scope,
                                    bool merge_text) {
  Canonicalizer c{scope, merge_text};
  const std::size_t mark = scope.size();
  auto err = c.element(root, {}, true);
  scope.resize(mark);
  return err;
}

}  // namespace parley::xml::detail
