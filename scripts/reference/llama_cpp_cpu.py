"""Numerical emulation of llama.cpp's x86 CPU kernels, for the reference's `q8` mode.

Facts below were read in the llama.cpp source vendored in the PyPI sdist llama-cpp-python 0.3.36
(`ggml/src/ggml-cpu/arch/x86/quants.c`, `ggml/src/ggml-cpu/ops.cpp`, `ggml/src/ggml-cpu/common.h`):

- Before a matrix product with a quantized weight, each activation row is quantized to the weight type's
  `vec_dot_type`: Q8_1 for Q4_1 weights, Q8_0 for Q8_0 weights. Per block of 32 values (AVX2 path):
  amax = max |x|, d = amax / 127 (float32, stored as fp16), q = round-half-to-even(x * (127 / amax)),
  and for Q8_1 also s = d * sum(q) with the float32 d, stored as fp16.
- Q4_1 x Q8_1 block dot product: d_w * d_x * sum(q_w * q_x) + m_w * s_x, with the fp16 values widened.
  Q8_0 x Q8_0: d_w * d_x * sum(q_w * q_x). llama.cpp accumulates in float32 SIMD lanes; this emulation
  accumulates in float64, so it differs from llama.cpp by float32 rounding noise only.
- The KV cache stores K and V as fp16 (the default cache type). The rest of attention is emulated as float:
  llama.cpp's tiled flash-attention kernel, which runs batches of at least 64 query rows, widens K and V to
  float32 and keeps Q, the softmax and the V product in float32. Its one-row kernel for smaller batches
  (fp16 Q, fp16 accumulator) is not emulated; README.md gives the measured effect of that choice.
"""

import numpy as np

BLOCK = 32


def fp16_round(values):
    """Round float values to the nearest fp16 (ties to even, as F16C does) and widen back to float32."""
    return np.asarray(values, dtype=np.float32).astype(np.float16).astype(np.float32)


class QuantizedWeight:
    """A GGUF weight matrix of shape [rows, columns] in Q4_1 or Q8_0, split into its block fields.

    `scale` (d), `minimum` (m, Q4_1 only) are float32 [rows, blocks] widened from fp16; `quants` is
    float32 [rows, blocks, 32] holding the integer quants (0..15 for Q4_1, -128..127 for Q8_0).
    """

    def __init__(self, kind, scale, minimum, quants):
        self.kind = kind
        self.scale = scale
        self.minimum = minimum
        self.quants = quants
        self._scaled_quants = None

    @property
    def rows(self):
        return self.quants.shape[0]

    @staticmethod
    def from_q4_1(raw, rows, columns):
        blocks = columns // BLOCK
        data = np.ascontiguousarray(raw, dtype=np.uint8).reshape(rows, blocks, 20)
        scale = data[:, :, 0:2].copy().view(np.float16)[:, :, 0].astype(np.float32)
        minimum = data[:, :, 2:4].copy().view(np.float16)[:, :, 0].astype(np.float32)
        packed = data[:, :, 4:20]
        # Low nibbles hold elements 0..15 of a block, high nibbles elements 16..31.
        quants = np.concatenate([packed & 0x0F, packed >> 4], axis=2).astype(np.float32)
        return QuantizedWeight("Q4_1", scale, minimum, quants)

    @staticmethod
    def from_q8_0(raw, rows, columns):
        blocks = columns // BLOCK
        data = np.ascontiguousarray(raw, dtype=np.uint8).reshape(rows, blocks, 34)
        scale = data[:, :, 0:2].copy().view(np.float16)[:, :, 0].astype(np.float32)
        quants = data[:, :, 2:34].copy().view(np.int8).astype(np.float32)
        return QuantizedWeight("Q8_0", scale, None, quants)

    def scaled_quants(self):
        """d * q per element as float64 [rows, columns], computed once (exact: 11 bits times 8 bits)."""
        if self._scaled_quants is None:
            values = self.scale[:, :, None].astype(np.float64) * self.quants
            self._scaled_quants = values.reshape(self.rows, -1)
        return self._scaled_quants

    def dequantized(self):
        values = self.scale[:, :, None] * self.quants
        if self.minimum is not None:
            values = values + self.minimum[:, :, None]
        return values.reshape(self.rows, -1).astype(np.float32)


def quantize_activations(rows, with_sum):
    """Quantize float32 activation rows [n, columns] to Q8_1 (`with_sum`) or Q8_0 blocks.

    Returns (d as fp16-widened float32 [n, blocks], q as float32 [n, blocks, 32], s or None).
    """
    rows = np.asarray(rows, dtype=np.float32)
    count, columns = rows.shape
    blocks = rows.reshape(count, columns // BLOCK, BLOCK)
    amax = np.abs(blocks).max(axis=2)
    d = amax / np.float32(127.0)
    with np.errstate(divide="ignore"):
        inverse = np.where(amax != 0, np.float32(127.0) / amax, np.float32(0.0)).astype(np.float32)
    quants = np.rint(blocks * inverse[:, :, None]).astype(np.float32)
    sums = None
    if with_sum:
        sums = fp16_round(d * quants.sum(axis=2, dtype=np.float32))
    return fp16_round(d), quants, sums


def quantized_matmul(rows, weight):
    """Return rows @ weight.T as llama.cpp's CPU backend computes it (float32 [n, weight.rows]).

    Each block term d_w * d_x * sum(q_w * q_x) is regrouped as sum((d_x * q_x) * (d_w * q_w)). Both factors
    are exact in float32 (an 11-bit fp16 mantissa times an 8-bit integer) and their product is exact in
    float64, so one float64 matrix product gives the block sums up to float64 rounding.
    """
    rows = np.asarray(rows, dtype=np.float32)
    x_scale, x_quants, x_sums = quantize_activations(rows, with_sum=weight.kind == "Q4_1")
    x_scaled = (x_scale[:, :, None].astype(np.float64) * x_quants).reshape(rows.shape[0], -1)
    accumulator = x_scaled @ weight.scaled_quants().T
    if weight.kind == "Q4_1":
        accumulator += x_sums.astype(np.float64) @ weight.minimum.T.astype(np.float64)
    return accumulator.astype(np.float32)


def rope_cos_sin_float32(positions, head_dim, base):
    """cos and sin tables [len(positions), head_dim/2] computed as ggml's rope cache does in float32:
    theta starts at the position and is multiplied by base**(-2/head_dim) once per pair."""
    theta_scale = np.float32(np.power(np.float32(base), np.float32(-2.0) / np.float32(head_dim)))
    theta = np.asarray(positions, dtype=np.float32)
    cos = np.empty((len(theta), head_dim // 2), dtype=np.float32)
    sin = np.empty_like(cos)
    for pair in range(head_dim // 2):
        cos[:, pair] = np.cos(theta)
        sin[:, pair] = np.sin(theta)
        theta = (theta * theta_scale).astype(np.float32)
    return cos, sin
