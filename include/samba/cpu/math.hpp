// The scalar activations of the CPU kernels: those of core/math.hpp, which every backend and the
// references share.
#pragma once

#include "samba/core/math.hpp"

namespace samba::cpu_detail {

using math::gelu_tanh;
using math::logsigmoid;
using math::sigmoid;
using math::silu;
using math::softplus;

}  // namespace samba::cpu_detail
