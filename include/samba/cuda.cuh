// samba on NVIDIA GPUs: the layers, stacks and the samba::cuda backend's kernels. nvcc only; the
// CPU headers (samba/samba.hpp) never include this, and this never includes Eigen.
//
//   using Stack = samba::SambaStack<samba::cuda, samba::bf16>;
//   Stack stack = Stack::random(config, seed);          // weights uploaded to the device
//   auto state = stack.make_state();                     // device state, constant size
//   stack.forward(state, x, y);                          // x, y: views of DeviceBuffers
//
//   auto model = samba::load_model<samba::cuda>(dir);    // a checkpoint on the GPU
//   samba::Session session(model);                       // host tokens in, host logits out
//
// See docs/cuda.md.
#pragma once

#include "samba/core/backend.hpp"
#include "samba/core/concepts.hpp"
#include "samba/core/dtype.hpp"
#include "samba/core/error.hpp"
#include "samba/core/random.hpp"
#include "samba/core/tensor.hpp"

#include "samba/layers/attention.hpp"
#include "samba/layers/differential_attention.hpp"
#include "samba/layers/feed_forward.hpp"
#include "samba/layers/gated_memory.hpp"
#include "samba/layers/gla.hpp"
#include "samba/layers/layer_norm.hpp"
#include "samba/layers/mamba.hpp"
#include "samba/layers/mamba2.hpp"
#include "samba/layers/retention.hpp"
#include "samba/layers/rglru.hpp"
#include "samba/layers/rmsnorm.hpp"
#include "samba/layers/swiglu.hpp"

#include "samba/stack/batch.hpp"
#include "samba/stack/cross_decoder.hpp"
#include "samba/stack/hybrid_stack.hpp"
#include "samba/stack/pre_norm.hpp"
#include "samba/stack/presets.hpp"

#include "samba/model/config.hpp"
#include "samba/model/language_model.hpp"
#include "samba/model/load.hpp"
#include "samba/model/model.hpp"
#include "samba/model/safetensors.hpp"
#include "samba/model/sampling.hpp"
#include "samba/model/session.hpp"

#include "samba/cuda/attention.cuh"
#include "samba/cuda/backend.cuh"
#include "samba/cuda/buffer.cuh"
#include "samba/cuda/differential_attention.cuh"
#include "samba/cuda/feed_forward.cuh"
#include "samba/cuda/gated_memory.cuh"
#include "samba/cuda/graph.cuh"
#include "samba/cuda/layer_norm.cuh"
#include "samba/cuda/linear_attention.cuh"
#include "samba/cuda/linear_recurrence.cuh"
#include "samba/cuda/mamba.cuh"
#include "samba/cuda/mamba2.cuh"
#include "samba/cuda/model.cuh"
#include "samba/cuda/pre_norm.cuh"
#include "samba/cuda/rglru.cuh"
#include "samba/cuda/rmsnorm.cuh"
#include "samba/cuda/runtime.cuh"
#include "samba/cuda/swiglu.cuh"
