// HybridStack<Blocks...>: a compile-time layer pattern repeated to a runtime depth.
//
// The pattern (which block types, in which order) is a template argument; how many blocks there are
// and their sizes are runtime config, so checkpoints of any depth load into the same type. Block b
// (0-based) has type Blocks[b % P], P = sizeof...(Blocks); the pattern may stop part-way through
// its last repetition. Samba is HybridStack<PreNorm<MambaLayer>, PreNorm<SwiGLU>,
// PreNorm<SlidingWindowAttention>, PreNorm<SwiGLU>> (see stack/presets.hpp).
//
// The stack owns its blocks (immutable, shareable across threads); the per-sequence State — one
// State per block plus the stream position — belongs to the caller. A HybridStack is itself a
// Layer, so stacks nest.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "samba/core/concepts.hpp"
#include "samba/core/random.hpp"
#include "samba/layers/common.hpp"
#include "samba/stack/batch.hpp"

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
    index_t n_blocks = 0;                           // total blocks; the pattern repeats cyclically
    std::tuple<typename Blocks::Config...> blocks;  // one config per pattern slot
  };

  struct State {
    std::tuple<std::vector<typename Blocks::State>...> blocks;
    index_t position = 0;  // tokens seen so far
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

  // Number of blocks of pattern slot s in a stack of n blocks.
  static constexpr index_t slot_count(index_t n_blocks, std::size_t slot) {
    const auto s = static_cast<index_t>(slot), p = static_cast<index_t>(pattern_size);
    return n_blocks > s ? (n_blocks - s + p - 1) / p : 0;
  }

  // From already-built blocks: slot s holds the blocks s, s + P, s + 2P, ...
  explicit HybridStack(std::tuple<std::vector<Blocks>...> blocks) : blocks_(std::move(blocks)) {
    std::apply(
        [&](const auto&... slot) { ((n_blocks_ += static_cast<index_t>(slot.size())), ...); },
        blocks_);
    detail::check(n_blocks_ > 0, "HybridStack: n_blocks must be > 0, got ", n_blocks_);
    for_each_slot([&]<std::size_t S>() {
      detail::check(static_cast<index_t>(std::get<S>(blocks_).size()) == slot_count(n_blocks_, S),
                    "HybridStack: pattern slot ", S, " has ", std::get<S>(blocks_).size(),
                    " blocks, but a stack of ", n_blocks_, " blocks needs ",
                    slot_count(n_blocks_, S));
    });
    d_model_ = std::get<0>(blocks_).front().d_model();
    for_each_block([&](const auto& block, index_t b) {
      detail::check(block.d_model() == d_model_, "HybridStack: block ", b, " has d_model ",
                    block.d_model(), ", block 0 has ", d_model_);
    });
  }

  // Builds block b with make(std::type_identity<Block>{}, b), in order b = 0 … n_blocks − 1.
  template <class Make>
  static HybridStack build(index_t n_blocks, Make&& make) {
    return build_slots(n_blocks, [&]<std::size_t S>(index_t b) {
      return make(std::type_identity<std::tuple_element_t<S, Pattern>>{}, b);
    });
  }

  // Random weights from a seed, for blocks that provide Block::random(config, Random&).
  static HybridStack random(const Config& config, std::uint64_t seed) {
    Random rng(seed);
    return build_slots(config.n_blocks, [&]<std::size_t S>(index_t) {
      Random block_rng = rng.fork();
      return std::tuple_element_t<S, Pattern>::random(std::get<S>(config.blocks), block_rng);
    });
  }

  index_t n_blocks() const { return n_blocks_; }
  index_t d_model() const { return d_model_; }
  // Parameters of every block that can count them (blocks without parameter_count() count as 0).
  std::size_t parameter_count() const {
    std::size_t n = 0;
    for_each_block([&](const auto& block, index_t) {
      if constexpr (requires { block.parameter_count(); }) n += block.parameter_count();
    });
    return n;
  }

  // The i-th block of pattern slot S (block S + i·P of the stack).
  template <std::size_t S>
  const auto& block(index_t i) const {
    return std::get<S>(blocks_).at(static_cast<std::size_t>(i));
  }

  // Calls f(block, b) for every block in stack order.
  template <class F>
  void for_each_block(F&& f) const {
    for (index_t rep = 0; rep * static_cast<index_t>(pattern_size) < n_blocks_; ++rep) {
      for_each_slot([&]<std::size_t S>() {
        const index_t b = rep * static_cast<index_t>(pattern_size) + static_cast<index_t>(S);
        if (b < n_blocks_) f(std::get<S>(blocks_)[static_cast<std::size_t>(rep)], b);
      });
    }
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
    using Buffer = typename backend_type::template buffer<float>;
    Buffer ping(n_blocks_ > 1 ? T * d_model_ : 0), pong(n_blocks_ > 2 ? T * d_model_ : 0);
    ConstMatrixView<float> in = x;
    for (index_t rep = 0; rep * static_cast<index_t>(pattern_size) < n_blocks_; ++rep) {
      for_each_slot([&]<std::size_t S>() {
        const index_t b = rep * static_cast<index_t>(pattern_size) + static_cast<index_t>(S);
        if (b >= n_blocks_) return;
        const MatrixView<float> out =
            b == n_blocks_ - 1 ? y : (b % 2 == 0 ? ping : pong).template view<2>({T, d_model_});
        using BlockState = std::tuple_element_t<S, std::tuple<typename Blocks::State...>>;
        std::vector<BlockState*> block_states(states.size());
        for (std::size_t i = 0; i < states.size(); ++i)
          block_states[i] = &std::get<S>(states[i]->blocks)[static_cast<std::size_t>(rep)];
        samba::forward_batch(std::get<S>(blocks_)[static_cast<std::size_t>(rep)],
                             std::span<BlockState* const>(block_states), lengths, in, out);
        in = out;
      });
    }
    for (std::size_t i = 0; i < states.size(); ++i) states[i]->position += lengths[i];
  }

  void check_state(const State& s) const {
    for_each_slot([&]<std::size_t S>() {
      detail::check(static_cast<index_t>(std::get<S>(s.blocks).size()) == slot_count(n_blocks_, S),
                    "HybridStack: state made for a stack of another depth (pattern slot ", S,
                    " has ", std::get<S>(s.blocks).size(), " states, this stack has ",
                    slot_count(n_blocks_, S), " blocks there)");
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

  // make.template operator()<S>(b) builds block b, which sits in pattern slot S = b % P.
  template <class Make>
  static HybridStack build_slots(index_t n_blocks, Make&& make) {
    detail::check(n_blocks > 0, "HybridStack: n_blocks must be > 0, got ", n_blocks);
    std::tuple<std::vector<Blocks>...> blocks;
    for (index_t b = 0; b < n_blocks; b += static_cast<index_t>(pattern_size)) {
      for_each_slot([&]<std::size_t S>() {
        if (b + static_cast<index_t>(S) < n_blocks)
          std::get<S>(blocks).push_back(make.template operator()<S>(b + static_cast<index_t>(S)));
      });
    }
    return HybridStack(std::move(blocks));
  }

  std::tuple<std::vector<Blocks>...> blocks_;
  index_t n_blocks_ = 0;
  index_t d_model_ = 0;
};

}  // namespace samba
