// Interop between samba's views and Eigen: the one place Eigen enters the library.
#pragma once

#include "samba/cpu/intrinsics.hpp"  // first: see there why

SAMBA_SILENCE_HEADER_WARNINGS_BEGIN
#include <Eigen/Core>
SAMBA_SILENCE_HEADER_WARNINGS_END

#include "samba/core/error.hpp"
#include "samba/core/tensor.hpp"

namespace samba::cpu_detail {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;
using ConstMatrixMap = Eigen::Map<const RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;

// A row-major view with contiguous rows as an Eigen matrix, without copying.
inline MatrixMap as_eigen(MatrixView<float> v) {
  detail::check(v.rows() == 0 || v.stride(1) == 1, "as_eigen: rows must be contiguous");
  return {v.data(), v.rows(), v.cols(),
          Eigen::OuterStride<>(std::max<index_t>(v.stride(0), v.cols()))};
}
inline ConstMatrixMap as_eigen(ConstMatrixView<float> v) {
  detail::check(v.rows() == 0 || v.stride(1) == 1, "as_eigen: rows must be contiguous");
  return {v.data(), v.rows(), v.cols(),
          Eigen::OuterStride<>(std::max<index_t>(v.stride(0), v.cols()))};
}

}  // namespace samba::cpu_detail

namespace samba {
// Public spelling of the interop, for users who mix samba views with their own Eigen code.
using cpu_detail::as_eigen;
}  // namespace samba
