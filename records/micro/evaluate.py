"""Re-evaluate a micro candidate's saved final model on the validation split, with the harness's code.

The harness runs this (records/reevaluate.py), in the run's own sandbox, after a run
claims a new best time:

    python evaluate.py train.py final_model.pt

It executes train.py's top-level statements up to the first `model = ...` (imports,
definitions, data, the model; never the training loop or anything after it), loads
the saved state_dict into that model strictly, and computes the mean loss over the
validation tokens itself: once with the true next tokens and once with random ones
(a model whose loss does not depend on the targets is not predicting anything).
Prints one line: `speedrun-reeval {"loss": ..., "random_loss": ..., "tokens": ...}`,
or `speedrun-reeval {"error": "..."}`.
"""

import ast
import json
import os
import sys
import warnings

RESULT_PREFIX = "speedrun-reeval "


def main(script_path, weights_path):
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    namespace = build_model(script_path)
    import torch

    model, args = namespace["model"], namespace.get("args")
    device = next(model.parameters()).device
    model.load_state_dict(torch.load(weights_path, map_location=device, weights_only=True), strict=True)
    val_tokens = setting(args, "val_tokens")
    seq_len = setting(args, "seq_len")
    tokens = load_val_tokens(torch, os.environ["SPEEDRUN_VAL_BIN"], val_tokens + 1)
    usable = (len(tokens) - 1) // seq_len * seq_len
    inputs = tokens[:usable].view(-1, seq_len)
    targets = tokens[1 : usable + 1].view(-1, seq_len)
    vocab = getattr(args, "vocab_size", 256)
    noise = torch.randint(0, vocab, targets.shape, generator=torch.Generator().manual_seed(0))
    batch = getattr(args, "batch_size", 16)
    model.eval()
    with torch.no_grad():
        loss = mean_loss(model, inputs, targets, batch, device)
        random_loss = mean_loss(model, inputs, noise, batch, device)
    return {"loss": loss, "random_loss": random_loss, "tokens": usable}


def build_model(script_path):
    """Run the script's top-level statements up to its first `model = ...`; their namespace."""
    with open(script_path) as f:
        tree = ast.parse(f.read(), filename=script_path)
    cut = next((i for i, node in enumerate(tree.body) if assigns_model(node)), None)
    if cut is None:
        fail("train.py has no top-level `model = ...` to re-evaluate")
    prefix = ast.Module(body=tree.body[: cut + 1], type_ignores=[])
    namespace = {"__name__": "__speedrun_reeval__", "__file__": script_path}
    sys.argv = [script_path]
    exec(compile(prefix, script_path, "exec"), namespace)
    return namespace


def assigns_model(node):
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == "model" for t in node.targets)
    return isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "model"


def setting(args, name):
    value = getattr(args, name, None)
    if not isinstance(value, int) or value < 1:
        fail(f"train.py's `args.{name}` is missing or not a positive integer")
    return value


def load_val_tokens(torch, path, count):
    with open(path, "rb") as f:
        header = torch.frombuffer(bytearray(f.read(256 * 4)), dtype=torch.int32)
        if header[0] != 20240520 or header[1] != 1:
            fail(f"{path} is not a token shard")
        data = f.read(2 * count)
    return torch.frombuffer(bytearray(data), dtype=torch.uint16).to(torch.int64)


def mean_loss(model, inputs, targets, batch, device):
    losses = []
    for x, y in zip(inputs.split(batch), targets.split(batch)):
        out = model(x.to(device), y.to(device))
        if isinstance(out, (tuple, list)):  # (logits, loss) or (loss, ...): take the scalar
            out = next(o for o in out if hasattr(o, "dim") and o.dim() == 0)
        losses.append(float(out))
    return sum(losses) / len(losses)


def report(payload):
    return RESULT_PREFIX + json.dumps(payload)


def fail(message):
    print(report({"error": message}), flush=True)
    sys.exit(3)


if __name__ == "__main__":
    print(report(main(sys.argv[1], sys.argv[2])), flush=True)
