// HybridStack<Blocks...>: a stack of blocks whose types are fixed at compile time and whose order
// is data.
//
// The block types are a template argument (P = sizeof...(Blocks) pattern slots); how many blocks
// there are, their sizes and their order are runtime config, so checkpoints of any depth and any
// layer order load into the same type. order[b] is the slot of block b; by default block b is slot
// b % P, the pattern repeated (and cut part-way through its last repetition). Samba is
// HybridStack<PreNorm<MambaLayer>, PreNorm<SwiGLU>, PreNorm<SlidingWindowAttention>,
// PreNorm<SwiGLU>> (see stack/presets.hpp); a Samba checkpoint with mb_per_layer 3 is the same type
// with the order [Mamba, MLP, SWA, MLP, SWA, MLP] x n (stack/order.hpp builds orders from the
// conventions of config files).
//
// The stack owns its blocks (immutable, shareable across threads); the per-sequence State — one
// State per block plus the stream position — belongs to the caller. A HybridStack is itself a
// Layer, so stacks nest.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "samba/core/backend.hpp"
#include "samba/core/concepts.hpp"
#include "samba/core/random.hpp"
#include "samba/layers/common.hpp"
#include "samba/stack/batch.hpp"
#include "samba/stack/order.hpp"

namespace samba {
namespace detail {

// The checks of a layer pattern, made when HybridStack<Blocks...> is instantiated, so that a bad
// pattern fails with a sentence rather than with template errors from deep inside the stack.

// Instantiated once per block type, so a failure names the offending type.
template <class L>
struct check_block {
  static_assert(
      Layer<L>,
      "HybridStack: this block type does not model samba::Layer. A layer needs the member "
      "types Config, State (copyable, with bytes()) and backend_type, and the const members "
      "d_model(), make_state() and forward(State&, ConstMatrixView<float>, "
      "MatrixView<float>). See docs/custom_layers.md.");
};

template <class... Blocks>
struct check_blocks {
  static_assert(sizeof...(Blocks) > 0,
                "HybridStack: the layer pattern needs at least one block type");
  // sizeof needs the complete type, so this instantiates check_block<L> (and its static_assert) for
  // every block type; a static data member's initializer would not be instantiated until used.
  static_assert(((sizeof(check_block<Blocks>) > 0) && ...));
};

// The backend of the first block, or void for an empty pattern (already rejected by check_blocks;
// void keeps that static_assert the only error).
template <class... Blocks>
struct first_backend {
  using type = void;
};
template <class First, class... Rest>
struct first_backend<First, Rest...> {
  using type = typename First::backend_type;
};

}  // namespace detail

template <class... Blocks>
class HybridStack : detail::check_blocks<Blocks...> {
 public:
  using backend_type = typename detail::first_backend<Blocks...>::type;
  static_assert((std::is_same_v<typename Blocks::backend_type, backend_type> && ...),
                "HybridStack: all blocks of a stack must use the same backend");

  static constexpr std::size_t pattern_size = sizeof...(Blocks);
  using Pattern = std::tuple<Blocks...>;

  struct Config {
    index_t n_blocks = 0;                           // total blocks
    std::tuple<typename Blocks::Config...> blocks;  // one config per pattern slot
    std::vector<index_t> order;  // slot of each block; empty: cyclic (block b is slot b % P)

    // Constructors rather than an aggregate, so that {n_blocks, {configs...}} leaves the order out
    // without a -Wmissing-field-initializers warning.
    Config() = default;
    Config(index_t n, std::tuple<typename Blocks::Config...> configs, std::vector<index_t> o = {})
        : n_blocks(n), blocks(std::move(configs)), order(std::move(o)) {}
  };

  struct State {
    std::tuple<std::vector<typename Blocks::State>...> blocks;  // per slot, in block order
    index_t position = 0;                                       // tokens seen so far
    std::size_t bytes() const {
      std::size_t n = 0;
      std::apply([&](const auto&... slot) { ((n += slot_bytes(slot)), ...); }, blocks);
      return n;
    }

   private:
    template <class S>
    static std::size_t slot_bytes(const std::vector<S>& states) {
      std::size_t n = 0;
      for (const auto& s : states) n += s.bytes();
      return n;
    }
  };

  // Number of blocks of pattern slot s in a cyclic stack of n blocks.
  static constexpr index_t slot_count(index_t n_blocks, std::size_t slot) {
    const auto s = static_cast<index_t>(slot), p = static_cast<index_t>(pattern_size);
    return n_blocks > s ? (n_blocks - s + p - 1) / p : 0;
  }

  // From already-built blocks, per slot in stack order, and the order (empty: cyclic, so slot s
  // holds the blocks s, s + P, s + 2P, ...).
  explicit HybridStack(std::tuple<std::vector<Blocks>...> blocks, std::vector<index_t> order = {})
      : blocks_(std::move(blocks)), order_(std::move(order)) {
    std::apply(
        [&](const auto&... slot) { ((n_blocks_ += static_cast<index_t>(slot.size())), ...); },
        blocks_);
    detail::check(n_blocks_ > 0, "HybridStack: n_blocks must be > 0, got ", n_blocks_);
    if (order_.empty()) order_ = cyclic_order(n_blocks_, static_cast<index_t>(pattern_size));
    check_order(order_, static_cast<index_t>(order_.size()));
    detail::check(static_cast<index_t>(order_.size()) == n_blocks_, "HybridStack: the order has ",
                  order_.size(), " blocks, but ", n_blocks_, " blocks were given");
    index_of_.resize(order_.size());
    std::array<index_t, pattern_size> seen{};
    for (std::size_t b = 0; b < order_.size(); ++b)
      index_of_[b] = seen[static_cast<std::size_t>(order_[b])]++;
    for_each_slot([&]<std::size_t S>() {
      detail::check(static_cast<index_t>(std::get<S>(blocks_).size()) == seen[S],
                    "HybridStack: pattern slot ", S, " has ", std::get<S>(blocks_).size(),
                    " blocks, but the order puts ", seen[S], " blocks there");
    });
    d_model_ = first_block_d_model();
    for_each_block([&](const auto& block, index_t b) {
      detail::check(block.d_model() == d_model_, "HybridStack: block ", b, " has d_model ",
                    block.d_model(), ", block 0 has ", d_model_);
    });
  }

  // Builds block b with make(std::type_identity<Block>{}, b), in order b = 0 … n_blocks − 1; block
  // b is slot b % P.
  template <class Make>
  static HybridStack build(index_t n_blocks, Make&& make) {
    detail::check(n_blocks > 0, "HybridStack: n_blocks must be > 0, got ", n_blocks);
    return build(cyclic_order(n_blocks, static_cast<index_t>(pattern_size)),
                 std::forward<Make>(make));
  }

  // The same, with block b of slot order[b].
  template <class Make>
  static HybridStack build(std::vector<index_t> order, Make&& make) {
    return build_slots(std::move(order), [&]<std::size_t S>(index_t b) {
      return make(std::type_identity<std::tuple_element_t<S, Pattern>>{}, b);
    });
  }

  // Random weights from a seed, for blocks that provide Block::random(config, Random&).
  static HybridStack random(const Config& config, std::uint64_t seed) {
    detail::check(config.n_blocks > 0, "HybridStack: n_blocks must be > 0, got ", config.n_blocks);
    std::vector<index_t> order = config.order;
    if (order.empty()) {
      order = cyclic_order(config.n_blocks, static_cast<index_t>(pattern_size));
    } else {
      detail::check(static_cast<index_t>(order.size()) == config.n_blocks,
                    "HybridStack: config.order has ", order.size(), " entries, but n_blocks is ",
                    config.n_blocks);
    }
    Random rng(seed);
    return build_slots(std::move(order), [&]<std::size_t S>(index_t) {
      Random block_rng = rng.fork();
      return std::tuple_element_t<S, Pattern>::random(std::get<S>(config.blocks), block_rng);
    });
  }

  index_t n_blocks() const { return n_blocks_; }
  index_t d_model() const { return d_model_; }
  // The slot of every block.
  const std::vector<index_t>& order() const { return order_; }
  // Parameters of every block that can count them (blocks without parameter_count() count as 0).
  std::size_t parameter_count() const {
    std::size_t n = 0;
    for_each_block([&](const auto& block, index_t) {
      if constexpr (requires { block.parameter_count(); }) n += block.parameter_count();
    });
    return n;
  }

  // The i-th block of pattern slot S (in a cyclic stack, block S + i·P).
  template <std::size_t S>
  const auto& block(index_t i) const {
    return std::get<S>(blocks_).at(static_cast<std::size_t>(i));
  }

  // Calls f(block, b) for every block in stack order.
  template <class F>
  void for_each_block(F&& f) const {
    for (index_t b = 0; b < n_blocks_; ++b)
      visit_slot(b, [&]<std::size_t S>(std::size_t i) { f(std::get<S>(blocks_)[i], b); });
  }

  State make_state() const {
    State s;
    for_each_slot([&]<std::size_t S>() {
      for (const auto& block : std::get<S>(blocks_))
        std::get<S>(s.blocks).push_back(block.make_state());
    });
    return s;
  }

  // Runs a chunk of T ≥ 0 tokens of one sequence: x [T, d_model] → y [T, d_model].
  void forward(State& state, ConstMatrixView<float> x, MatrixView<float> y) const {
    detail::forward_one(*this, state, x, y);
  }

  // Runs a ragged batch: sequence s owns the next lengths[s] rows of x and y and its own state
  // (batched decode: one row per sequence). Sequences may be at different positions, and may join
  // or leave the batch between calls.
  void forward_batch(std::span<State* const> states, std::span<const index_t> lengths,
                     ConstMatrixView<float> x, MatrixView<float> y) const {
    detail::check_activations("HybridStack", x, d_model_, y, d_model_);
    detail::check_batch("HybridStack", states, lengths, x.rows());
    for (const State* s : states) check_state(*s);
    const index_t T = x.rows();
    auto ping = detail::scratch<float, backend_type>(n_blocks_ > 1 ? T * d_model_ : 0);
    auto pong = detail::scratch<float, backend_type>(n_blocks_ > 2 ? T * d_model_ : 0);
    ConstMatrixView<float> in = x;
    for (index_t b = 0; b < n_blocks_; ++b) {
      const MatrixView<float> out =
          b == n_blocks_ - 1 ? y : (b % 2 == 0 ? ping : pong).template view<2>({T, d_model_});
      visit_slot(b, [&]<std::size_t S>(std::size_t i) {
        using BlockState = std::tuple_element_t<S, std::tuple<typename Blocks::State...>>;
        ScratchBuffer<BlockState*> block_states(static_cast<index_t>(states.size()));
        for (std::size_t s = 0; s < states.size(); ++s)
          block_states[static_cast<index_t>(s)] = &std::get<S>(states[s]->blocks)[i];
        samba::forward_batch(std::get<S>(blocks_)[i],
                             std::span<BlockState* const>(block_states.data(), states.size()),
                             lengths, in, out);
      });
      in = out;
    }
    for (std::size_t i = 0; i < states.size(); ++i) states[i]->position += lengths[i];
  }

  void check_state(const State& s) const {
    for_each_slot([&]<std::size_t S>() {
      detail::check(std::get<S>(s.blocks).size() == std::get<S>(blocks_).size(),
                    "HybridStack: state made for a stack of another depth or order (pattern slot ",
                    S, " has ", std::get<S>(s.blocks).size(), " states, this stack has ",
                    std::get<S>(blocks_).size(), " blocks there)");
    });
  }

 private:
  template <class F>
  static void for_each_slot(F&& f) {
    [&]<std::size_t... S>(std::index_sequence<S...>) {
      (f.template operator()<S>(), ...);
    }
    (std::make_index_sequence<pattern_size>{});
  }

  // Calls f.template operator()<S>(i) for block b, the i-th block of its slot S.
  template <class F>
  void visit_slot(index_t b, F&& f) const {
    const auto slot = static_cast<std::size_t>(order_[static_cast<std::size_t>(b)]);
    const auto i = static_cast<std::size_t>(index_of_[static_cast<std::size_t>(b)]);
    [&]<std::size_t... S>(std::index_sequence<S...>) {
      (void)((slot == S ? (f.template operator()<S>(i), true) : false) || ...);
    }
    (std::make_index_sequence<pattern_size>{});
  }

  static void check_order(const std::vector<index_t>& order, index_t n_blocks) {
    detail::check(n_blocks > 0, "HybridStack: n_blocks must be > 0, got ", n_blocks);
    for (std::size_t b = 0; b < order.size(); ++b)
      detail::check(order[b] >= 0 && order[b] < static_cast<index_t>(pattern_size),
                    "HybridStack: block ", b, " is pattern slot ", order[b],
                    ", but the pattern has ", pattern_size, " slots (0 to ", pattern_size - 1, ")");
  }

  index_t first_block_d_model() const {
    index_t d = 0;
    visit_slot(0, [&]<std::size_t S>(std::size_t i) { d = std::get<S>(blocks_)[i].d_model(); });
    return d;
  }

  // make.template operator()<S>(b) builds block b, which sits in pattern slot S = order[b].
  template <class Make>
  static HybridStack build_slots(std::vector<index_t> order, Make&& make) {
    check_order(order, static_cast<index_t>(order.size()));
    std::tuple<std::vector<Blocks>...> blocks;
    for (std::size_t b = 0; b < order.size(); ++b) {
      for_each_slot([&]<std::size_t S>() {
        if (order[b] == static_cast<index_t>(S))
          std::get<S>(blocks).push_back(make.template operator()<S>(static_cast<index_t>(b)));
      });
    }
    return HybridStack(std::move(blocks), std::move(order));
  }

  std::tuple<std::vector<Blocks>...> blocks_;
  std::vector<index_t> order_;     // slot of block b
  std::vector<index_t> index_of_;  // block b is block index_of_[b] of its slot
  index_t n_blocks_ = 0;
  index_t d_model_ = 0;
};

}  // namespace samba
