// Namespace-resolved XML element trees backed by pugixml.
//
// pugixml knows nothing of namespaces, so every tree Parley holds is kept in one canonical form
// that makes an element's namespace cheap to find and the tree self-contained:
//   * element names are local names (no prefix);
//   * an element's namespace is the value of the `xmlns` attribute on the element itself or on its
//     nearest ancestor that has one; the root element of a Document always has one;
//   * an attribute is either unqualified (`type`), in the XML namespace (`xml:lang`), or `p:name`
//     with `xmlns:p` declared on the same element;
//   * text is pcdata only (CDATA sections become text) and adjacent text nodes are merged.
// StreamParser produces trees in this form; the builders below keep it.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <pugixml.hpp>
#include <string>
#include <string_view>

namespace parley::xml {

class Element {
 public:
  Element() = default;
  explicit Element(pugi::xml_node node) : node_(node) {}

  explicit operator bool() const { return node_.type() == pugi::node_element; }

  // Local name, e.g. "message".
  std::string_view name() const { return node_.name(); }
  // Namespace name; "" when the element is in no namespace.
  std::string_view ns() const;
  bool is(std::string_view name, std::string_view ns) const;

  // Value of an unqualified attribute; nullopt when absent.
  std::optional<std::string_view> find_attr(std::string_view name) const;
  // Value of a namespace-qualified attribute (e.g. ns::kXml, "lang").
  std::optional<std::string_view> find_attr(std::string_view ns, std::string_view name) const;
  // Value of an unqualified attribute; "" when absent.
  std::string_view attr(std::string_view name) const { return find_attr(name).value_or(""); }
  // xml:lang of this element or the nearest ancestor that has one; "" when none.
  std::string_view lang() const;

  // First child element with this local name and namespace; a null Element when none.
  Element child(std::string_view name, std::string_view ns) const;
  // First child element in any namespace with this local name.
  Element child(std::string_view name) const;
  Element first_child() const;
  Element next_sibling() const;
  Element parent() const;
  std::size_t child_count() const;
  // Concatenated text of the direct text children.
  std::string text() const;

  // Builders; each keeps the canonical form. ns "" means: the parent's namespace.
  Element append_child(std::string_view name, std::string_view ns = {});
  // Deep-copies `other` (from any document) as the last child of this element.
  Element append_copy(Element other);
  void set_attr(std::string_view name, std::string_view value);
  void remove_attr(std::string_view name);
  void append_text(std::string_view text);
  void remove_child(Element child);

  pugi::xml_node node() const { return node_; }

  // Range over child elements (text nodes skipped).
  class Iterator {
   public:
    explicit Iterator(pugi::xml_node n) : n_(n) { skip(); }
    Element operator*() const { return Element(n_); }
    Iterator& operator++() {
      n_ = n_.next_sibling();
      skip();
      return *this;
    }
    bool operator==(const Iterator& o) const { return n_ == o.n_; }
    bool operator!=(const Iterator& o) const { return n_ != o.n_; }

   private:
    void skip() {
      while (n_ && n_.type() != pugi::node_element) n_ = n_.next_sibling();
    }
    pugi::xml_node n_;
  };
  struct Children {
    pugi::xml_node first;
    Iterator begin() const { return Iterator(first); }
    Iterator end() const { return Iterator(pugi::xml_node()); }
  };
  Children children() const { return Children{node_.first_child()}; }

 private:
  pugi::xml_node node_;
};

// Namespace-aware deep equality: names, namespaces, attributes by (namespace, local name, value)
// irrespective of order and prefix, and the sequence of child elements and texts.
bool deep_equal(Element a, Element b);

// Owns one element tree and the bytes pugixml parsed it from (in situ).
class Document {
 public:
  Document();  // empty: no root; allocates nothing
  ~Document();
  Document(Document&&) noexcept;
  Document& operator=(Document&&) noexcept;
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;

  // A new document whose root is <name xmlns='ns'/>.
  static Document create(std::string_view name, std::string_view ns);
  // A deep copy of `e` as the root of a new document.
  static Document copy_of(Element e);

  Element root() const;
  explicit operator bool() const { return static_cast<bool>(root()); }

  // For the parser: take ownership of the buffer pugixml parses in place.
  pugi::xml_document& pugi_document();
  void adopt_buffer(std::unique_ptr<char[]> buffer) { buffer_ = std::move(buffer); }

 private:
  std::unique_ptr<char[]> buffer_;
  std::unique_ptr<pugi::xml_document> doc_;
};

}  // namespace parley::xml
