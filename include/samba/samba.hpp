// samba: header-only C++20 library of hybrid state-space model layers (Mamba, Mamba-2, GLA,
// retention, sliding-window attention, SwiGLU, RMSNorm, LayerNorm) composed into HybridStacks. One
// include for all.
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

// The CPU backend's kernels (Eigen).
#include "samba/cpu/attention.hpp"
#include "samba/cpu/differential_attention.hpp"
#include "samba/cpu/eigen.hpp"
#include "samba/cpu/feed_forward.hpp"
#include "samba/cpu/gated_memory.hpp"
#include "samba/cpu/gla.hpp"
#include "samba/cpu/layer_norm.hpp"
#include "samba/cpu/mamba.hpp"
#include "samba/cpu/mamba2.hpp"
#include "samba/cpu/model.hpp"
#include "samba/cpu/pre_norm.hpp"
#include "samba/cpu/retention.hpp"
#include "samba/cpu/rglru.hpp"
#include "samba/cpu/rmsnorm.hpp"
#include "samba/cpu/swiglu.hpp"
