#include "storage/roster_store.hpp"

namespace parley::storage {

std::string_view to_string(Subscription subscription) noexcept {
  switch (subscription) {
    case Subscription::None:
      return "none";
    case Subscription::To:
      return "to";
    case Subscription::From:
      return "from";
    case Subscription::Both:
      return "both";
  }
  return "none";
}

std::optional<Subscription> subscription_from_string(std::string_view text) noexcept {
  for (const Subscription s :
       {Subscription::None, Subscription::To, Subscription::From, Subscription::Both}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

}  // namespace parley::storage
