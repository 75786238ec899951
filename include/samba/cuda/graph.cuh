// CudaGraphDecoder: a stack's decode step captured as one CUDA graph and replayed, so the GPU runs
// the step's hundreds of small kernels back to back, without a launch gap between them.
//
// Each step is captured again (host work only: nothing runs during capture) and the instantiated
// graph is updated in place with cudaGraphExecUpdate: the kernels are the same from step to step,
// only their arguments move (positions, ring slots). A step never synchronises with the host.
//
// Memory: while a step is captured, every device buffer it makes comes from the decoder's private
// pool, so the blocks a graph writes are never handed to anyone else. KV caches are grown before
// capture (a cache that grows inside a graph would be a buffer the graph keeps writing after it has
// been replaced).
//
//   CudaGraphDecoder decoder(stack);
//   for (...) decoder.step(states, lengths, x, y);   // same contract as stack.forward_batch
#pragma once

#include <cuda_runtime.h>

#include <memory>
#include <span>
#include <tuple>
#include <utility>

#include "samba/cuda/attention.cuh"
#include "samba/cuda/runtime.cuh"
#include "samba/stack/hybrid_stack.hpp"

namespace samba {
namespace cuda_detail {

// Grows the KV cache of every attention block of `stack` (directly or under PreNorm) so that
// `len` more tokens fit, outside of graph capture.
template <class Block>
void reserve_block(const Block& block, typename Block::State& state, index_t len) {
  if constexpr (requires { block.layer(); }) {
    reserve_block(block.layer(), state, len);
  } else if constexpr (requires { Block::kind; }) {
    AttentionKernel<cuda, typename Block::weight_type, Block::kind>::reserve(block, state, len);
  }
}

template <class... Blocks>
void reserve_stack(const HybridStack<Blocks...>& stack,
                   std::span<typename HybridStack<Blocks...>::State* const> states,
                   std::span<const index_t> lengths) {
  for (std::size_t s = 0; s < states.size(); ++s) {
    [&]<std::size_t... S>(std::index_sequence<S...>) {
      (
          [&] {
            auto& slot = std::get<S>(states[s]->blocks);
            for (std::size_t i = 0; i < slot.size(); ++i)
              reserve_block(stack.template block<S>(static_cast<index_t>(i)), slot[i], lengths[s]);
          }(),
          ...);
    }
    (std::index_sequence_for<Blocks...>{});
  }
}

}  // namespace cuda_detail

template <class Stack>
class CudaGraphDecoder {
 public:
  using State = typename Stack::State;

  explicit CudaGraphDecoder(const Stack& stack)
      : stack_(&stack), pool_(std::make_shared<DeviceAllocator>(CudaContext::current().stream())) {}
  CudaGraphDecoder(const CudaGraphDecoder&) = delete;
  CudaGraphDecoder& operator=(const CudaGraphDecoder&) = delete;
  ~CudaGraphDecoder() {
    if (exec_) (void)cudaGraphExecDestroy(exec_);
  }

  // One step (any lengths; decode is one token per sequence): y = stack(x), states advanced.
  void step(std::span<State* const> states, std::span<const index_t> lengths,
            ConstMatrixView<float> x, MatrixView<float> y) {
    using cuda_detail::check_cuda;
    CudaContext& ctx = CudaContext::current();
    const cudaStream_t stream = ctx.stream();
    cuda_detail::reserve_stack(*stack_, states, lengths);

    check_cuda(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed),
               "cudaStreamBeginCapture");
    ctx.set_allocation_pool(pool_);
    try {
      stack_->forward_batch(states, lengths, x, y);
    } catch (...) {
      ctx.set_allocation_pool(nullptr);
      cudaGraph_t discarded = nullptr;
      (void)cudaStreamEndCapture(stream, &discarded);
      if (discarded) (void)cudaGraphDestroy(discarded);
      (void)cudaGetLastError();
      throw;
    }
    ctx.set_allocation_pool(nullptr);
    cudaGraph_t graph = nullptr;
    check_cuda(cudaStreamEndCapture(stream, &graph), "cudaStreamEndCapture");
    const std::unique_ptr<CUgraph_st, decltype(&cudaGraphDestroy)> owned(graph, &cudaGraphDestroy);

    if (exec_) {
      cudaGraphExecUpdateResultInfo info{};
      if (cudaGraphExecUpdate(exec_, graph, &info) != cudaSuccess) {
        (void)cudaGetLastError();
        (void)cudaGraphExecDestroy(exec_);
        exec_ = nullptr;
      }
    }
    if (!exec_) {
      check_cuda(cudaGraphInstantiate(&exec_, graph, 0), "cudaGraphInstantiate");
      ++instantiations_;
    }
    check_cuda(cudaGraphLaunch(exec_, stream), "cudaGraphLaunch");
    ++steps_;
  }

  void step(State& state, ConstMatrixView<float> x, MatrixView<float> y) {
    State* states[] = {&state};
    const index_t lengths[] = {x.rows()};
    step(std::span<State* const>(states), std::span<const index_t>(lengths), x, y);
  }

  // Steps run, and how many of them had to instantiate a new graph (the rest updated the last).
  index_t steps() const { return steps_; }
  index_t instantiations() const { return instantiations_; }

 private:
  const Stack* stack_;
  std::shared_ptr<DeviceAllocator> pool_;
  cudaGraphExec_t exec_ = nullptr;
  index_t steps_ = 0, instantiations_ = 0;
};

}  // namespace samba
