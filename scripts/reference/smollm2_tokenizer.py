"""Byte-level BPE tokenizer for SmolLM2, built from GGUF metadata with the PyPI `tokenizers` package.

This is the reference the Swift tokenizer is checked against. It reproduces what llama.cpp does for a GGUF
whose `tokenizer.ggml.model` is `gpt2` and `tokenizer.ggml.pre` is `smollm`. The rules below were read in
llama.cpp's `src/llama-vocab.cpp` and `src/unicode.cpp`, in the copy vendored in the PyPI sdist
llama-cpp-python 0.3.36:

1. Control tokens (`token_type` 3) found verbatim in the text are emitted as single tokens when special
   tokens are parsed. llama.cpp tries longer token texts first.
2. The remaining text is split by two regular expressions in turn, and text that neither matches is kept as
   its own piece: `\\p{N}` (every digit on its own), then the GPT-2 pattern below.
3. Each piece is mapped to the GPT-2 byte-to-unicode alphabet and merged with the ranked BPE merges.

Invalid UTF-8 never reaches the `tokenizers` package, which only accepts valid strings. llama.cpp decodes
the bytes with a lenient decoder first (`unicode_cpts_from_utf8`): a byte that does not start a complete
sequence becomes U+FFFD and decoding resumes at the next byte, while overlong forms and UTF-16 surrogates
are decoded without a check. `decode_utf8_like_llama_cpp` reproduces that decoder, so the reference can
tokenize the result whenever it is a valid Python string for `tokenizers`.
"""

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

TOKEN_TYPE_CONTROL = 3

# llama.cpp's regex list for the `smollm` pre-tokenizer type.
SMOLLM_DIGIT_PATTERN = r"\p{N}"
SMOLLM_WORD_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"


def build_tokenizer(tokens, merges, token_types):
    """Build a `tokenizers.Tokenizer` from `tokenizer.ggml.tokens`, `merges` and `token_type`."""
    vocabulary = {text: index for index, text in enumerate(tokens)}
    if len(vocabulary) != len(tokens):
        raise ValueError("tokenizer.ggml.tokens contains duplicate entries; a BPE vocabulary needs unique texts")
    merge_pairs = []
    for rank, merge in enumerate(merges):
        left, separator, right = merge.partition(" ")
        if not separator:
            raise ValueError(f"tokenizer.ggml.merges[{rank}] = {merge!r} has no space between its two parts")
        merge_pairs.append((left, right))

    tokenizer = Tokenizer(models.BPE(vocab=vocabulary, merges=merge_pairs, fuse_unk=False, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SMOLLM_DIGIT_PATTERN), behavior="isolated"),
            pre_tokenizers.Split(Regex(SMOLLM_WORD_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    control_tokens = [tokens[index] for index, kind in enumerate(token_types) if kind == TOKEN_TYPE_CONTROL]
    tokenizer.add_special_tokens(
        [AddedToken(text, special=True, normalized=False, single_word=False, lstrip=False, rstrip=False)
         for text in control_tokens]
    )
    return tokenizer


def tokenizer_from_gguf(reader):
    """Build the reference tokenizer from an open `gguf.GGUFReader`."""
    fields = reader.fields
    model = fields["tokenizer.ggml.model"].contents()
    pre = fields["tokenizer.ggml.pre"].contents()
    if model != "gpt2" or pre != "smollm":
        raise ValueError(f"expected tokenizer.ggml.model 'gpt2' and pre 'smollm', found {model!r} and {pre!r}")
    return build_tokenizer(
        fields["tokenizer.ggml.tokens"].contents(),
        fields["tokenizer.ggml.merges"].contents(),
        fields["tokenizer.ggml.token_type"].contents(),
    )


def encode(tokenizer, text):
    """Token ids of `text`, with control tokens parsed and no BOS (SmolLM2 sets add_bos_token = false)."""
    return tokenizer.encode(text, add_special_tokens=False).ids


def decode_utf8_like_llama_cpp(data):
    """Decode bytes the way llama.cpp's `unicode_cpts_from_utf8` does and return the code points as a list.

    The lead byte alone sets the sequence length (no check for overlong forms, surrogates or values above
    U+10FFFF). A byte that cannot start a sequence, or a sequence cut short or with a byte that is not a
    continuation byte, yields U+FFFD and decoding restarts one byte later.
    """
    code_points = []
    offset = 0
    while offset < len(data):
        lead = data[offset]
        if lead < 0x80:
            code_points.append(lead)
            offset += 1
            continue
        if lead & 0x40 == 0:
            length = 0
        elif lead & 0x20 == 0:
            length, value = 2, lead & 0x1F
        elif lead & 0x10 == 0:
            length, value = 3, lead & 0x0F
        elif lead & 0x08 == 0:
            length, value = 4, lead & 0x07
        else:
            length = 0
        continuation = data[offset + 1 : offset + length]
        if length == 0 or len(continuation) != length - 1 or any(b & 0xC0 != 0x80 for b in continuation):
            code_points.append(0xFFFD)
            offset += 1
            continue
        for byte in continuation:
            value = (value << 6) | (byte & 0x3F)
        code_points.append(value)
        offset += length
    return code_points


def text_from_code_points(code_points):
    """Return a Python string for `tokenizers`, or None when a code point cannot be part of one
    (a UTF-16 surrogate or a value above U+10FFFF, both of which llama.cpp passes through)."""
    if any(0xD800 <= c <= 0xDFFF or c > 0x10FFFF for c in code_points):
        return None
    return "".join(chr(c) for c in code_points)
