#include "xml/element.hpp"

#include <cstring>
#include <vector>

#include "xml/namespaces.hpp"

namespace parley::xml {
namespace {

constexpr std::string_view kXmlns = "xmlns";
constexpr std::string_view kXmlnsColon = "xmlns:";
constexpr std::string_view kXmlColon = "xml:";

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// The namespace an element declares itself (its `xmlns` attribute), if any.
std::optional<std::string_view> own_ns(pugi::xml_node n) {
  for (pugi::xml_attribute a = n.first_attribute(); a; a = a.next_attribute()) {
    const char* name = a.name();
    if (name[0] == 'x' && std::strcmp(name, "xmlns") == 0) return std::string_view(a.value());
  }
  return std::nullopt;
}

std::string_view ns_of(pugi::xml_node n) {
  for (; n && n.type() == pugi::node_element; n = n.parent()) {
    if (auto v = own_ns(n)) return *v;
  }
  return {};
}

std::string_view ns_of_child(pugi::xml_node child, std::string_view parent_ns) {
  if (auto v = own_ns(child)) return *v;
  return parent_ns;
}

// (namespace, local name) of an attribute in canonical form; the namespace of a `p:name` attribute
// is declared on the same element. Declarations themselves return nullopt.
std::optional<std::pair<std::string_view, std::string_view>> expanded_attr(pugi::xml_node owner,
                                                                           pugi::xml_attribute a) {
  std::string_view qname = a.name();
  if (qname == kXmlns || starts_with(qname, kXmlnsColon)) return std::nullopt;
  auto colon = qname.find(':');
  if (colon == std::string_view::npos) return std::make_pair(std::string_view{}, qname);
  std::string_view prefix = qname.substr(0, colon);
  std::string_view local = qname.substr(colon + 1);
  if (prefix == "xml") return std::make_pair(ns::kXml, local);
  for (pugi::xml_attribute d = owner.first_attribute(); d; d = d.next_attribute()) {
    std::string_view dn = d.name();
    if (starts_with(dn, kXmlnsColon) && dn.substr(kXmlnsColon.size()) == prefix) {
      return std::make_pair(std::string_view(d.value()), local);
    }
  }
  return std::make_pair(std::string_view{}, qname);  // not canonical; compare by qualified name
}

bool is_text(pugi::xml_node n) {
  return n.type() == pugi::node_pcdata || n.type() == pugi::node_cdata;
}

bool attrs_equal(pugi::xml_node a, pugi::xml_node b) {
  std::size_t count_a = 0;
  for (pugi::xml_attribute x = a.first_attribute(); x; x = x.next_attribute()) {
    auto ex = expanded_attr(a, x);
    if (!ex) continue;
    ++count_a;
    bool found = false;
    for (pugi::xml_attribute y = b.first_attribute(); y; y = y.next_attribute()) {
      auto ey = expanded_attr(b, y);
      if (ey && *ey == *ex && std::strcmp(x.value(), y.value()) == 0) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  std::size_t count_b = 0;
  for (pugi::xml_attribute y = b.first_attribute(); y; y = y.next_attribute()) {
    if (expanded_attr(b, y)) ++count_b;
  }
  return count_a == count_b;
}

// Collects the children of n as a sequence of elements and merged texts.
struct Item {
  pugi::xml_node element;
  std::string text;
};
std::vector<Item> items(pugi::xml_node n) {
  std::vector<Item> out;
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element) {
      out.push_back({c, {}});
    } else if (is_text(c)) {
      if (out.empty() || out.back().element) out.push_back({pugi::xml_node(), {}});
      out.back().text += c.value();
    }
  }
  return out;
}

bool deep_equal_impl(pugi::xml_node a, std::string_view ns_a, pugi::xml_node b,
                     std::string_view ns_b) {
  if (std::strcmp(a.name(), b.name()) != 0 || ns_a != ns_b) return false;
  if (!attrs_equal(a, b)) return false;
  auto ia = items(a);
  auto ib = items(b);
  if (ia.size() != ib.size()) return false;
  for (std::size_t i = 0; i < ia.size(); ++i) {
    if (static_cast<bool>(ia[i].element) != static_cast<bool>(ib[i].element)) return false;
    if (ia[i].element) {
      if (!deep_equal_impl(ia[i].element, ns_of_child(ia[i].element, ns_a), ib[i].element,
                           ns_of_child(ib[i].element, ns_b))) {
        return false;
      }
    } else if (ia[i].text != ib[i].text) {
      return false;
    }
  }
  return true;
}

std::string z(std::string_view s) { return std::string(s); }

}  // namespace

std::string_view Element::ns() const { return ns_of(node_); }

bool Element::is(std::string_view name, std::string_view ns) const {
  return node_ && this->name() == name && this->ns() == ns;
}

std::optional<std::string_view> Element::find_attr(std::string_view name) const {
  for (pugi::xml_attribute a = node_.first_attribute(); a; a = a.next_attribute()) {
    if (name == a.name()) return std::string_view(a.value());
  }
  return std::nullopt;
}

std::optional<std::string_view> Element::find_attr(std::string_view ns,
                                                   std::string_view name) const {
  if (ns.empty()) return find_attr(name);
  for (pugi::xml_attribute a = node_.first_attribute(); a; a = a.next_attribute()) {
    auto ex = expanded_attr(node_, a);
    if (ex && ex->first == ns && ex->second == name) return std::string_view(a.value());
  }
  return std::nullopt;
}

std::string_view Element::lang() const {
  for (pugi::xml_node n = node_; n && n.type() == pugi::node_element; n = n.parent()) {
    if (pugi::xml_attribute a = n.attribute("xml:lang")) return a.value();
  }
  return {};
}

Element Element::child(std::string_view name, std::string_view ns) const {
  std::string_view mine = this->ns();
  for (pugi::xml_node c = node_.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && name == c.name() && ns_of_child(c, mine) == ns) {
      return Element(c);
    }
  }
  return {};
}

Element Element::child(std::string_view name) const {
  for (pugi::xml_node c = node_.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && name == c.name()) return Element(c);
  }
  return {};
}

Element Element::first_child() const { return *children().begin(); }

Element Element::next_sibling() const {
  pugi::xml_node n = node_.next_sibling();
  while (n && n.type() != pugi::node_element) n = n.next_sibling();
  return Element(n);
}

Element Element::parent() const {
  pugi::xml_node p = node_.parent();
  return p.type() == pugi::node_element ? Element(p) : Element();
}

std::size_t Element::child_count() const {
  std::size_t n = 0;
  for ([[maybe_unused]] Element c : children()) ++n;
  return n;
}

std::string Element::text() const {
  std::string out;
  for (pugi::xml_node c = node_.first_child(); c; c = c.next_sibling()) {
    if (is_text(c)) out += c.value();
  }
  return out;
}

Element Element::append_child(std::string_view name, std::string_view ns) {
  pugi::xml_node c = node_.append_child(z(name).c_str());
  if (!ns.empty() && ns != this->ns()) c.append_attribute("xmlns").set_value(ns.data(), ns.size());
  return Element(c);
}

Element Element::append_copy(Element other) {
  std::string_view other_ns = other.ns();
  pugi::xml_node c = node_.append_copy(other.node_);
  // The copy inherits this element's namespace unless it declares its own.
  if (!own_ns(c) && other_ns != this->ns()) {
    c.prepend_attribute("xmlns").set_value(other_ns.data(), other_ns.size());
  }
  return Element(c);
}

void Element::set_attr(std::string_view name, std::string_view value) {
  std::string n = z(name);
  pugi::xml_attribute a = node_.attribute(n.c_str());
  if (!a) a = node_.append_attribute(n.c_str());
  a.set_value(value.data(), value.size());
}

void Element::remove_attr(std::string_view name) { node_.remove_attribute(z(name).c_str()); }

void Element::append_text(std::string_view text) {
  pugi::xml_node last = node_.last_child();
  if (last && is_text(last)) {
    std::string merged = std::string(last.value()) + std::string(text);
    last.set_value(merged.data(), merged.size());
    return;
  }
  node_.append_child(pugi::node_pcdata).set_value(text.data(), text.size());
}

void Element::remove_child(Element child) { node_.remove_child(child.node_); }

bool deep_equal(Element a, Element b) {
  if (!a || !b) return !a && !b;
  return deep_equal_impl(a.node(), a.ns(), b.node(), b.ns());
}

Document::Document() = default;

pugi::xml_document& Document::pugi_document() {
  if (!doc_) doc_ = std::make_unique<pugi::xml_document>();
  return *doc_;
}
Document::~Document() = default;
Document::Document(Document&&) noexcept = default;
Document& Document::operator=(Document&&) noexcept = default;

Document Document::create(std::string_view name, std::string_view ns) {
  Document d;
  pugi::xml_node root = d.pugi_document().append_child(z(name).c_str());
  root.append_attribute("xmlns").set_value(ns.data(), ns.size());
  return d;
}

Document Document::copy_of(Element e) {
  Document d;
  std::string_view ns = e.ns();
  pugi::xml_node root = d.pugi_document().append_copy(e.node());
  if (!own_ns(root)) root.prepend_attribute("xmlns").set_value(ns.data(), ns.size());
  return d;
}

Element Document::root() const {
  if (!doc_) return {};
  return Element(doc_->document_element());
}

}  // namespace parley::xml
