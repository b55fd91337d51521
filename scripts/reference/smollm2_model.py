"""LLaMA forward pass of SmolLM2-135M in numpy, read from its GGUF file with the PyPI `gguf` package.

Two numerical modes:

- `f32`: weights dequantized with `gguf.quants.dequantize`, every activation, product and sum in float64,
  K and V kept at full precision. This is the exact value of the float forward pass; an engine that keeps
  activations in float32 differs from it by float32 rounding only.
- `q8`: emulates llama.cpp's x86 CPU path (see `llama_cpp_cpu.py`) with float32 activations. Each activation
  row is quantized to Q8_1 (before Q4_1 weights) or Q8_0 (before the Q8_0 output head) for integer block dot
  products. K and V are rounded to fp16 in the cache, and attention itself stays float.

The architecture follows llama.cpp's `src/models/llama.cpp` (llama-cpp-python 0.3.36): pre-norm blocks with
RMSNorm, grouped-query attention with RoPE in NORMAL mode, SwiGLU MLP, final RMSNorm and an output head
tied to `token_embd`. RoPE NORMAL mode (ggml `rotate_pairs` with n_offset 1 in `ggml-cpu/ops.cpp`) rotates
adjacent pairs (x[2i], x[2i+1]) by the angle position * base**(-2i/head_dim). llama.cpp's GGUF converter
permutes the Q and K weights of LLaMA models (`LlamaModel.permute`) so that this matches the Hugging Face
rotate-half layout.
"""

import gguf
import numpy as np

import llama_cpp_cpu as cpu

MODES = ("f32", "q8")


class Hyperparameters:
    def __init__(self, reader):
        fields = reader.fields

        def value(key):
            if key not in fields:
                raise KeyError(f"GGUF metadata key {key} is missing")
            return fields[key].contents()

        architecture = value("general.architecture")
        if architecture != "llama":
            raise ValueError(f"general.architecture is {architecture!r}; this reference runs 'llama' models only")
        self.layers = int(value("llama.block_count"))
        self.width = int(value("llama.embedding_length"))
        self.heads = int(value("llama.attention.head_count"))
        self.kv_heads = int(value("llama.attention.head_count_kv"))
        self.ffn = int(value("llama.feed_forward_length"))
        self.rms_epsilon = float(value("llama.attention.layer_norm_rms_epsilon"))
        self.rope_base = float(value("llama.rope.freq_base"))
        self.head_dim = self.width // self.heads
        rope_dims = int(value("llama.rope.dimension_count"))
        if rope_dims != self.head_dim:
            raise ValueError(f"llama.rope.dimension_count {rope_dims} differs from head dimension {self.head_dim}")


class KVCache:
    """Per-layer keys and values after RoPE, each [kv_heads, positions, head_dim]."""

    def __init__(self, layers):
        self.keys = [None] * layers
        self.values = [None] * layers

    @property
    def length(self):
        return 0 if self.keys[0] is None else self.keys[0].shape[1]

    def append(self, layer, keys, values):
        if self.keys[layer] is None:
            self.keys[layer], self.values[layer] = keys, values
        else:
            self.keys[layer] = np.concatenate([self.keys[layer], keys], axis=1)
            self.values[layer] = np.concatenate([self.values[layer], values], axis=1)


class SmolLM2:
    def __init__(self, reader, mode):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        self.mode = mode
        self.hp = Hyperparameters(reader)
        self.dtype = np.float64 if mode == "f32" else np.float32
        tensors = {tensor.name: tensor for tensor in reader.tensors}

        def tensor(name):
            if name not in tensors:
                raise KeyError(f"tensor {name} is missing from the GGUF file")
            return tensors[name]

        embedding = tensor("token_embd.weight")
        self.embedding = gguf.quants.dequantize(embedding.data, embedding.tensor_type).astype(np.float32)
        self.output_norm = np.asarray(tensor("output_norm.weight").data, dtype=np.float32)
        if "output.weight" in tensors:
            raise ValueError("this reference expects the output head tied to token_embd, found output.weight")

        self.blocks = []
        for layer in range(self.hp.layers):
            block = {
                "attn_norm": np.asarray(tensor(f"blk.{layer}.attn_norm.weight").data, dtype=np.float32),
                "ffn_norm": np.asarray(tensor(f"blk.{layer}.ffn_norm.weight").data, dtype=np.float32),
            }
            for name in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"):
                block[name] = self._load_matrix(tensor(f"blk.{layer}.{name}.weight"))
            self.blocks.append(block)

        if mode == "f32":
            self.head = self.embedding.astype(np.float64)
        else:
            self.head = self._load_matrix(embedding)

    def _load_matrix(self, tensor):
        reference = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        if self.mode == "f32":
            return reference.astype(np.float64)
        rows, columns = reference.shape
        kind = tensor.tensor_type.name
        if kind == "Q4_1":
            weight = cpu.QuantizedWeight.from_q4_1(tensor.data, rows, columns)
        elif kind == "Q8_0":
            weight = cpu.QuantizedWeight.from_q8_0(tensor.data, rows, columns)
        else:
            raise ValueError(f"tensor {tensor.name} has type {kind}; q8 mode handles Q4_1 and Q8_0 weights")
        # The block fields parsed here must reproduce gguf's own dequantization bit for bit.
        if not np.array_equal(weight.dequantized(), reference):
            raise AssertionError(f"Q-block parsing of {tensor.name} disagrees with gguf.quants.dequantize")
        return weight

    # Building blocks. In f32 mode they compute in float64; in q8 mode they follow ggml's float32 steps.

    def _matmul(self, rows, weight):
        if self.mode == "f32":
            return rows @ weight.T
        return cpu.quantized_matmul(rows, weight)

    def _rms_norm(self, rows, weight):
        if self.mode == "f32":
            mean_square = np.mean(rows * rows, axis=1, keepdims=True)
            return rows / np.sqrt(mean_square + self.hp.rms_epsilon) * weight
        # ggml_compute_forward_rms_norm_f32: sum of squares in double, then float32 scale.
        mean = (np.sum(rows.astype(np.float64) ** 2, axis=1) / rows.shape[1]).astype(np.float32)
        scale = (np.float32(1.0) / np.sqrt(mean + np.float32(self.hp.rms_epsilon))).astype(np.float32)
        return ((rows * scale[:, None]).astype(np.float32) * weight).astype(np.float32)

    def _rope(self, heads_by_position, positions):
        """Rotate [positions, heads, head_dim] in NORMAL mode (adjacent pairs)."""
        half = self.hp.head_dim // 2
        if self.mode == "f32":
            exponents = np.arange(half, dtype=np.float64) * (-2.0 / self.hp.head_dim)
            angles = np.asarray(positions, dtype=np.float64)[:, None] * np.power(self.hp.rope_base, exponents)
            cos, sin = np.cos(angles), np.sin(angles)
        else:
            cos, sin = cpu.rope_cos_sin_float32(positions, self.hp.head_dim, self.hp.rope_base)
        cos, sin = cos[:, None, :], sin[:, None, :]
        even = heads_by_position[:, :, 0::2]
        odd = heads_by_position[:, :, 1::2]
        rotated = np.empty_like(heads_by_position)
        rotated[:, :, 0::2] = even * cos - odd * sin
        rotated[:, :, 1::2] = even * sin + odd * cos
        return rotated.astype(self.dtype)

    def _attention(self, queries, keys, values, first_position):
        """queries [heads, n, dim]; keys, values [kv_heads, total, dim] (cache plus the new rows).
        Row i of the queries is at position first_position + i and attends to keys 0 ..= that position."""
        hp = self.hp
        count = queries.shape[1]
        scale = 1.0 / np.sqrt(hp.head_dim)
        group = hp.heads // hp.kv_heads
        keys = np.repeat(keys, group, axis=0).astype(np.float64)
        values = np.repeat(values, group, axis=0).astype(np.float64)
        if self.mode == "q8":
            # As llama.cpp's tiled kernel: float32 Q.K scores; the softmax and V product run in float64 here.
            scores = (queries.astype(np.float32) @ keys.astype(np.float32).transpose(0, 2, 1)).astype(np.float32)
            scores = (scores * np.float32(scale)).astype(np.float64)
        else:
            scores = (queries @ keys.transpose(0, 2, 1)) * scale
        total = keys.shape[1]
        query_positions = first_position + np.arange(count)[:, None]
        scores = np.where(np.arange(total)[None, :] <= query_positions, scores, -np.inf)
        scores -= scores.max(axis=2, keepdims=True)
        weights = np.exp(scores)
        weights /= weights.sum(axis=2, keepdims=True)
        return (weights @ values).astype(self.dtype)

    def _silu_product(self, gate, up):
        if self.mode == "f32":
            return gate / (1.0 + np.exp(-gate)) * up
        with np.errstate(over="ignore"):
            silu = (gate / (np.float32(1.0) + np.exp(-gate))).astype(np.float32)
        return (silu * up).astype(np.float32)

    def forward(self, tokens, cache=None):
        """Return logits [len(tokens), vocabulary] for `tokens` appended after the cache's positions."""
        hp = self.hp
        cache = cache if cache is not None else KVCache(hp.layers)
        first_position = cache.length
        count = len(tokens)
        positions = np.arange(first_position, first_position + count)
        hidden = self.embedding[np.asarray(tokens)].astype(self.dtype)

        for layer, block in enumerate(self.blocks):
            normed = self._rms_norm(hidden, block["attn_norm"])
            queries = self._matmul(normed, block["attn_q"]).reshape(count, hp.heads, hp.head_dim)
            keys = self._matmul(normed, block["attn_k"]).reshape(count, hp.kv_heads, hp.head_dim)
            values = self._matmul(normed, block["attn_v"]).reshape(count, hp.kv_heads, hp.head_dim)
            queries = self._rope(queries, positions)
            keys = self._rope(keys, positions)
            if self.mode == "q8":
                keys, values = cpu.fp16_round(keys), cpu.fp16_round(values)
            cache.append(layer, keys.transpose(1, 0, 2), values.transpose(1, 0, 2))

            attended = self._attention(
                queries.transpose(1, 0, 2), cache.keys[layer], cache.values[layer], first_position
            )
            attended = attended.transpose(1, 0, 2).reshape(count, hp.width)
            hidden = (hidden + self._matmul(attended, block["attn_output"])).astype(self.dtype)

            normed = self._rms_norm(hidden, block["ffn_norm"])
            gate = self._matmul(normed, block["ffn_gate"])
            up = self._matmul(normed, block["ffn_up"])
            hidden = (hidden + self._matmul(self._silu_product(gate, up), block["ffn_down"])).astype(self.dtype)

        normed = self._rms_norm(hidden, self.output_norm)
        if self.mode == "f32":
            return normed @ self.head.T
        return cpu.quantized_matmul(normed, self.head)
