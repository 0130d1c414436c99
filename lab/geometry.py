"""Output sizes along one axis — convolution, pooling, transposed convolution, dilation —
exactly as torch computes them. One home: Convolution, Pooling and Architectures read it.
"""

from __future__ import annotations


def dilated_kernel(kernel: int, dilation: int) -> int:
    """The span of a dilated kernel: k′ = k + (k − 1)(d − 1) = d(k − 1) + 1."""
    return dilation * (kernel - 1) + 1


def conv_length(size: int, kernel: int, stride: int, padding_total: int, dilation: int) -> int:
    """Conv2d's output length along one axis (may be <= 0 for impossible settings)."""
    return (size + padding_total - dilated_kernel(kernel, dilation)) // stride + 1


def transposed_length(size: int, kernel: int, stride: int, padding: int, output_padding: int,
                      dilation: int) -> int:
    """ConvTranspose2d's output length along one axis."""
    return (size - 1) * stride - 2 * padding + dilated_kernel(kernel, dilation) - 1 \
        + output_padding + 1


def pooled_length(size: int, kernel: int, stride: int, padding: int, dilation: int,
                  ceil_mode: bool) -> int:
    """Max/avg/LP pooling's output length along one axis, exactly as torch (may be <= 0)."""
    span = dilated_kernel(kernel, dilation)
    numerator = size + 2 * padding - span + (stride - 1 if ceil_mode else 0)
    out = numerator // stride + 1  # floor division rounds towards -inf, as torch's div_rtn
    # With ceil_mode the last window must start inside the input or its left padding.
    if ceil_mode and out > 0 and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def adaptive_window(index: int, in_size: int, out_size: int) -> tuple[int, int]:
    """[start, end) of adaptive pooling's window number `index` along one axis."""
    start = (index * in_size) // out_size
    end = -((-(index + 1) * in_size) // out_size)  # ceil((index + 1) * in / out)
    return start, end
