// Block orders: which of a stack's block types each block is.
//
// A HybridStack<Blocks...> has P = sizeof...(Blocks) pattern slots (its block types, in template
// order) and a runtime order: order[b] is the slot of block b. Checkpoints declare their order in
// config.json in several conventions; each has a small builder here, so a loader is one call:
//
//   cyclic_order(n, P)                   today's default: block b is slot b % P
//   parse_order("M-M*-", "M-*")          one character per block; slot = the character's index in
//                                        the symbols (Nemotron-H's hybrid_override_pattern)
//   order_from_names(names, {"a", "b"})  one name per block (Granite 4.0's layer_types,
//                                        RecurrentGemma's block_types)
//   order_where(n, pred, yes, no)        slot `yes` where pred(b), else `no` (Samba's mb_per_layer,
//                                        Jamba's attn_layer_period/offset, fla's attn layer list)
//
// and describe_order() writes an order for people: "[Mamba, MLP, SWA, MLP] x 2".
#pragma once

#include <cstddef>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "samba/core/error.hpp"
#include "samba/core/tensor.hpp"

namespace samba {

// Block b is slot b % n_slots.
inline std::vector<index_t> cyclic_order(index_t n_blocks, index_t n_slots) {
  detail::check(n_blocks >= 0 && n_slots > 0,
                "cyclic_order: needs n_blocks >= 0 and n_slots > 0, "
                "got ",
                n_blocks, " and ", n_slots);
  std::vector<index_t> order(static_cast<std::size_t>(n_blocks));
  for (index_t b = 0; b < n_blocks; ++b) order[static_cast<std::size_t>(b)] = b % n_slots;
  return order;
}

// One block per character of `pattern`; its slot is the position of the character in `symbols`.
// `what` names the source in errors (e.g. "config.json: 'hybrid_override_pattern'").
inline std::vector<index_t> parse_order(std::string_view pattern, std::string_view symbols,
                                        std::string_view what = "block order") {
  std::vector<index_t> order;
  order.reserve(pattern.size());
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const std::size_t slot = symbols.find(pattern[i]);
    if (slot == std::string_view::npos) {
      std::string known;
      for (const char c : symbols) known += detail::concat(known.empty() ? "" : ", ", "'", c, "'");
      detail::fail(what, ": unknown block symbol '", pattern[i], "' at position ", i, " of \"",
                   pattern, "\" (known: ", known, ")");
    }
    order.push_back(static_cast<index_t>(slot));
  }
  return order;
}

// One block per name; its slot is the position of the name in `known`.
inline std::vector<index_t> order_from_names(std::span<const std::string> names,
                                             std::span<const std::string_view> known,
                                             std::string_view what = "block order") {
  std::vector<index_t> order;
  order.reserve(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::size_t slot = 0;
    while (slot < known.size() && known[slot] != names[i]) ++slot;
    if (slot == known.size()) {
      std::string list;
      for (const auto k : known) list += detail::concat(list.empty() ? "" : ", ", "\"", k, "\"");
      detail::fail(what, ": unknown block type \"", names[i], "\" at index ", i, " (known: ", list,
                   ")");
    }
    order.push_back(static_cast<index_t>(slot));
  }
  return order;
}

// Slot `yes` for the blocks b where pred(b), `no` for the others.
template <class Pred>
std::vector<index_t> order_where(index_t n_blocks, Pred&& pred, index_t yes, index_t no) {
  std::vector<index_t> order(static_cast<std::size_t>(n_blocks));
  for (index_t b = 0; b < n_blocks; ++b) order[static_cast<std::size_t>(b)] = pred(b) ? yes : no;
  return order;
}

// An order for people, with one name per slot: the shortest period that repeats to the whole
// order, "[Mamba, MLP, SWA, MLP] x 3", with "+ [Mamba, MLP]" for a cut-off last repetition; an
// order without a shorter period is listed block by block.
inline std::string describe_order(std::span<const index_t> order,
                                  std::span<const std::string_view> slot_names) {
  const std::size_t n = order.size();
  auto name = [&](std::size_t b) {
    const auto s = static_cast<std::size_t>(order[b]);
    return s < slot_names.size() ? std::string(slot_names[s]) : detail::concat("slot ", s);
  };
  auto list = [&](std::size_t begin, std::size_t end) {
    std::string out = "[";
    for (std::size_t b = begin; b < end; ++b) out += (b > begin ? ", " : "") + name(b);
    return out + "]";
  };
  if (n == 0) return "[]";
  std::size_t period = 1;
  while (period < n) {
    bool repeats = true;
    for (std::size_t b = period; b < n && repeats; ++b) repeats = order[b] == order[b % period];
    if (repeats) break;
    ++period;
  }
  // A period that does not repeat even twice says nothing: list the blocks.
  if (2 * period > n) return list(0, n);
  std::string out = detail::concat(list(0, period), " x ", n / period);
  if (n % period != 0) out += " + " + list(n - n % period, n);
  return out;
}

}  // namespace samba
