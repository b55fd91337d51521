#!/usr/bin/env python3
"""Produce the golden values that Elide's Swift tests compare against, from an independent numpy forward.

Writes two JSON files:

- `smollm2-golden.json`: for the `f32` and `q8` modes (see `smollm2_model.py`), the token ids of a fixed
  prompt, top-5 logits at chosen positions, perplexities under two protocols and a greedy generation.
- `smollm2-reference-tokens.json`: the reference tokenizer's token ids for every case in
  `tokenizer-cases.json`.

Run it through `scripts/reference/run`, which creates the virtual environment it needs.
"""

import argparse
import hashlib
import json
import os
import sys
import time
from importlib import metadata
from pathlib import Path

import gguf
import numpy as np

import smollm2_model
import smollm2_tokenizer

MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
PROMPT = "The capital of France is"
EXCERPT_TOKENS = 512
EXCERPT_TOP5_POSITIONS = (0, 100, 255, 511)
LLAMA_CPP_CONTEXT = 512
GREEDY_TOKENS = 32

REPOSITORY = Path(__file__).resolve().parents[2]
ELIDE_HOME = Path(os.environ.get("ELIDE_HOME", Path.home() / ".cache" / "elide"))

MODE_DESCRIPTIONS = {
    "f32": "Weights dequantized to float; activations, products and sums in float64; K and V unrounded.",
    "q8": (
        "Emulates llama.cpp's x86 CPU matrix products: float32 activations quantized per row to Q8_1 before "
        "each Q4_1 matrix product and to Q8_0 before the Q8_0 output head (integer block dot products, summed "
        "in float64 here); K and V rounded to fp16 in the cache; attention scores float32, softmax float64."
    ),
}


def log(message):
    print(f"reference: {message}", file=sys.stderr, flush=True)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def top5(logits_row):
    order = np.argsort(-logits_row, kind="stable")[:5]
    return [{"token": int(index), "logit": float(logits_row[index])} for index in order]


def negative_log_likelihoods(logits, targets):
    """-log softmax(logits[i])[targets[i]] for each row, in float64."""
    logits = np.asarray(logits, dtype=np.float64)
    maximum = logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(logits - maximum).sum(axis=1)) + maximum[:, 0]
    return log_sum - logits[np.arange(len(targets)), targets]


def llama_cpp_chunks(tokens, context):
    """Chunk boundaries as llama-perplexity uses them: floor(len / context) chunks of `context` tokens."""
    if len(tokens) < 2 * context:
        raise ValueError(f"llama-perplexity needs at least {2 * context} tokens, the excerpt has {len(tokens)}")
    return [(start, start + context) for start in range(0, (len(tokens) // context) * context, context)]


def end_of_generation_ids(reader, tokens):
    """Token ids that end generation, as llama.cpp chooses them for this vocabulary: the EOS id plus the
    tokens whose text is on its list of end markers (for SmolLM2: <|endoftext|> and <|im_end|>)."""
    ids = {int(reader.fields["tokenizer.ggml.eos_token_id"].contents())}
    ids.update(index for index, text in enumerate(tokens) if text in ("<|endoftext|>", "<|im_end|>"))
    return sorted(ids)


def greedy_generate(model, tokenizer, prompt_tokens, count, stop_ids):
    """Generate `count` tokens greedily, continuing past end-of-generation tokens so that every run
    yields the same number of ids; the first end-of-generation position is recorded separately."""
    cache = smollm2_model.KVCache(model.hp.layers)
    logits = model.forward(prompt_tokens, cache)[-1]
    generated = []
    margins = []
    while True:
        best, runner_up = np.argsort(-logits, kind="stable")[:2]  # ties go to the lowest id
        generated.append(int(best))
        margins.append(float(logits[best] - logits[runner_up]))
        if len(generated) == count:
            break
        logits = model.forward([int(best)], cache)[-1]
    stop_index = next((index for index, token in enumerate(generated) if token in stop_ids), None)
    until_stop = generated if stop_index is None else generated[:stop_index]
    return {
        "max_tokens": count,
        "token_ids": generated,
        "text": tokenizer.decode(generated, skip_special_tokens=False),
        "end_of_generation_index": stop_index,
        "text_until_end_of_generation": tokenizer.decode(until_stop, skip_special_tokens=False),
        "top1_minus_top2_logit": margins,
    }


def run_mode(reader, tokenizer, mode, prompt_tokens, excerpt_tokens, llama_cpp_tokens, stop_ids):
    started = time.time()
    log(f"{mode}: loading weights")
    model = smollm2_model.SmolLM2(reader, mode)

    log(f"{mode}: prompt forward")
    prompt_logits = model.forward(prompt_tokens)
    prompt_positions = sorted({0, 1, len(prompt_tokens) - 1})

    log(f"{mode}: forward over the first {EXCERPT_TOKENS} excerpt tokens")
    window = excerpt_tokens[:EXCERPT_TOKENS]
    window_logits = model.forward(window)
    window_nll = negative_log_likelihoods(window_logits[:-1], np.asarray(window[1:]))

    chunks = llama_cpp_chunks(llama_cpp_tokens, LLAMA_CPP_CONTEXT)
    first_scored = LLAMA_CPP_CONTEXT // 2
    chunk_nll = []
    for index, (start, end) in enumerate(chunks):
        chunk = llama_cpp_tokens[start:end]
        if chunk == window:
            logits = window_logits  # same tokens at the same positions in a fresh cache
        else:
            log(f"{mode}: llama.cpp protocol chunk {index + 1} of {len(chunks)}")
            logits = model.forward(chunk)
        # llama-perplexity scores logits at positions first .. context-2 against the next token.
        scored = negative_log_likelihoods(logits[first_scored : LLAMA_CPP_CONTEXT - 1], np.asarray(chunk[first_scored + 1 :]))
        chunk_nll.append(scored)
    all_chunk_nll = np.concatenate(chunk_nll)

    log(f"{mode}: greedy generation of {GREEDY_TOKENS} tokens")
    greedy = greedy_generate(model, tokenizer, prompt_tokens, GREEDY_TOKENS, stop_ids)
    log(f"{mode}: done in {time.time() - started:.0f} s")

    return {
        "description": MODE_DESCRIPTIONS[mode],
        "prompt_tokens": list(prompt_tokens),
        "prompt_top5": [{"position": p, "top5": top5(prompt_logits[p])} for p in prompt_positions],
        "excerpt_top5": [{"position": p, "top5": top5(window_logits[p])} for p in EXCERPT_TOP5_POSITIONS],
        "perplexity_first_512": {
            "tokens": len(window),
            "predictions": int(len(window_nll)),
            "mean_negative_log_likelihood": float(window_nll.mean()),
            "perplexity": float(np.exp(window_nll.mean())),
        },
        "perplexity_llama_cpp_protocol": {
            "context": LLAMA_CPP_CONTEXT,
            "chunks": len(chunks),
            "scored_per_chunk": int(len(chunk_nll[0])),
            "predictions": int(len(all_chunk_nll)),
            "mean_negative_log_likelihood": float(all_chunk_nll.mean()),
            "perplexity": float(np.exp(all_chunk_nll.mean())),
            "per_chunk_perplexity": [float(np.exp(values.mean())) for values in chunk_nll],
        },
        "greedy": greedy,
    }


def tokenizer_fixture(tokenizer, cases, model_sha256):
    strings = []
    for text in cases["strings"]:
        ids = smollm2_tokenizer.encode(tokenizer, text)
        decoded = tokenizer.decode(ids, skip_special_tokens=False)
        if decoded != text:
            raise AssertionError(f"reference tokenizer does not round-trip {text!r}: decoded {decoded!r}")
        strings.append({"text": text, "token_ids": ids})

    invalid = []
    for hex_text in cases["invalid_utf8_hex"]:
        code_points = smollm2_tokenizer.decode_utf8_like_llama_cpp(bytes.fromhex(hex_text))
        text = smollm2_tokenizer.text_from_code_points(code_points)
        entry = {
            "hex": hex_text,
            "code_points_like_llama_cpp": [f"U+{c:04X}" for c in code_points],
            "token_ids": None if text is None else smollm2_tokenizer.encode(tokenizer, text),
        }
        if text is None:
            entry["note"] = (
                "llama.cpp decodes this to a code point that is not a Unicode scalar value (a surrogate or a "
                "value above U+10FFFF); the tokenizers package accepts only valid strings, so the reference "
                "has no token ids here"
            )
        invalid.append(entry)

    return {
        "description": (
            "Token ids from the reference tokenizer: the PyPI tokenizers package configured from the GGUF "
            "metadata with llama.cpp's smollm pre-tokenizer rules; control tokens are parsed, no BOS is added."
        ),
        "model_sha256": model_sha256,
        "generated_by": "scripts/reference/run",
        "packages": package_versions(),
        "strings": strings,
        "invalid_utf8": {
            "description": (
                "Invalid UTF-8 is first decoded as llama.cpp's unicode_cpts_from_utf8 does (a byte that does "
                "not start a complete sequence becomes U+FFFD, overlong forms and surrogates are decoded "
                "unchecked), then tokenized. token_ids is null where the decoded text cannot be passed to the "
                "tokenizers package. llama.cpp's own llama-tokenize output is the authority for these cases."
            ),
            "cases": invalid,
        },
    }


def package_versions():
    return {name: metadata.version(name) for name in ("numpy", "gguf", "tokenizers")}


def write_json(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    os.replace(temporary, path)
    log(f"wrote {path}")


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--model", type=Path, default=ELIDE_HOME / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf",
                        help="SmolLM2 GGUF file (default: from $ELIDE_HOME, as scripts/fetch-assets writes it)")
    parser.add_argument("--excerpt", type=Path, default=ELIDE_HOME / "text" / "pride-and-prejudice-2000-8000.txt",
                        help="perplexity text (default: the excerpt scripts/fetch-assets writes)")
    parser.add_argument("--cases", type=Path, default=Path(__file__).resolve().parent / "tokenizer-cases.json",
                        help="tokenizer cases to encode")
    parser.add_argument("--golden", type=Path,
                        default=REPOSITORY / "Tests" / "ElideModelsTests" / "Fixtures" / "smollm2-golden.json",
                        help="output path of the model golden values")
    parser.add_argument("--tokens", type=Path,
                        default=REPOSITORY / "Tests" / "ElideFormatsTests" / "Fixtures" / "smollm2-reference-tokens.json",
                        help="output path of the tokenizer golden values")
    parser.add_argument("--modes", default="f32,q8", help="comma-separated modes to compute (f32, q8)")
    parser.add_argument("--tokens-only", action="store_true", help="write only the tokenizer file")
    return parser.parse_args()


def main():
    arguments = parse_arguments()
    for path in (arguments.model, arguments.excerpt, arguments.cases):
        if not path.is_file():
            sys.exit(f"reference: error: {path} not found; run scripts/fetch-assets first")
    model_sha256 = sha256_of(arguments.model)
    if model_sha256 != MODEL_SHA256:
        sys.exit(f"reference: error: {arguments.model} has sha256 {model_sha256}, expected {MODEL_SHA256}")

    reader = gguf.GGUFReader(str(arguments.model))
    tokenizer = smollm2_tokenizer.tokenizer_from_gguf(reader)
    cases = json.loads(arguments.cases.read_text(encoding="utf-8"))
    write_json(arguments.tokens, tokenizer_fixture(tokenizer, cases, model_sha256))
    if arguments.tokens_only:
        return

    excerpt_text = arguments.excerpt.read_text(encoding="utf-8")
    excerpt_tokens = smollm2_tokenizer.encode(tokenizer, excerpt_text)
    # llama-perplexity reads the file with `-f`, which drops one trailing newline before tokenizing.
    llama_cpp_text = excerpt_text[:-1] if excerpt_text.endswith("\n") else excerpt_text
    llama_cpp_tokens = smollm2_tokenizer.encode(tokenizer, llama_cpp_text)
    prompt_tokens = smollm2_tokenizer.encode(tokenizer, PROMPT)

    stop_ids = end_of_generation_ids(reader, reader.fields["tokenizer.ggml.tokens"].contents())
    modes = [mode.strip() for mode in arguments.modes.split(",") if mode.strip()]
    results = {}
    for mode in modes:
        results[mode] = run_mode(reader, tokenizer, mode, prompt_tokens, excerpt_tokens, llama_cpp_tokens, stop_ids)

    golden = {
        "description": (
            "Golden values for SmolLM2-135M-Instruct Q4_1 from the independent numpy reference in "
            "scripts/reference (no BOS, no chat template). Positions are 0-based token indices; logits are raw."
        ),
        "generated_by": "scripts/reference/run",
        "packages": package_versions(),
        "model": {"file": arguments.model.name, "sha256": model_sha256},
        "excerpt": {
            "file": f"text/{arguments.excerpt.name}",
            "sha256": sha256_of(arguments.excerpt),
            "tokens": len(excerpt_tokens),
        },
        "prompt": PROMPT,
        "prompt_tokens": prompt_tokens,
        "perplexity_first_512_protocol": (
            f"Logits of the first {EXCERPT_TOKENS} excerpt tokens in one pass; every position but the last "
            "predicts the next token, so 511 predictions; perplexity = exp(mean negative log-likelihood)."
        ),
        "perplexity_llama_cpp_protocol": (
            "As llama-perplexity -c 512 scores (llama.cpp tools/perplexity/perplexity.cpp): the text without "
            "one trailing newline is tokenized without BOS (add_bos_token is false), cut into floor(n/512) "
            "chunks of 512 tokens, each run in a fresh context at positions 0..511; the logits at positions "
            "256..510 are scored against tokens 257..511, 255 predictions per chunk."
        ),
        "end_of_generation_ids": stop_ids,
        "greedy_protocol": (
            "Argmax of the last logits after the prompt (ties to the lowest id), then one token at a time with a "
            f"KV cache, {GREEDY_TOKENS} tokens; generation does not stop at end-of-generation tokens "
            f"{stop_ids}. end_of_generation_index is the index in token_ids of the first one (null if none), "
            "where llama.cpp's generation stops; text_until_end_of_generation is the text before it. "
            "top1_minus_top2_logit is the logit gap behind each choice: a gap near 0 is a near-tie that "
            "another engine's rounding may flip."
        ),
        "modes": results,
    }
    write_json(arguments.golden, golden)


if __name__ == "__main__":
    main()
