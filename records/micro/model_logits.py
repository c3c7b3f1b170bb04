"""The candidate's side of the harness's evaluation: its saved model's logits on tokens the harness chose.

The harness runs this in the run's own sandbox, after the run claimed the target:

    python model_logits.py train.py final_model.pt inputs.bin SEQ_LEN

It executes train.py's top-level statements up to the first `model = ...` (imports,
definitions, data, the model; never the training loop), loads the saved state_dict
into that model strictly, and saves `model(idx)`'s logits for every window of
inputs.bin (uint16 tokens, SEQ_LEN per window) to logits.pt (one float32 tensor). That is the
contract every micro rung follows: `model(idx)` with idx of shape (B, T) returns
logits of shape (B, T, vocab). The windows are validation, held-out and probe windows
in an order only the harness knows, and no targets come with them: the loss is
computed by the harness (records/micro/losses.py), never by the candidate's code.
Prints `speedrun-logits {"windows": N, "vocab": V}` or `speedrun-logits {"error": "..."}`,
and `speedrun-mark ready` / `speedrun-mark done` around the forward passes, where the
harness reads its clock.
"""

import ast
import json
import sys
import warnings

RESULT_PREFIX = "speedrun-logits "
BATCH = 16  # windows per forward pass
LOGITS_FILE = "logits.pt"


def main(script_path, weights_path, inputs_path, seq_len):
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    namespace = build_model(script_path)
    import torch

    model = namespace["model"]
    device = next(model.parameters()).device
    model.load_state_dict(torch.load(weights_path, map_location=device, weights_only=True), strict=True)
    model.eval()
    with open(inputs_path, "rb") as f:
        windows = torch.frombuffer(bytearray(f.read()), dtype=torch.uint16).to(torch.int64).view(-1, seq_len)
    print("speedrun-mark ready", flush=True)
    vocab, outputs = None, []
    with torch.no_grad():
        for idx in windows.split(BATCH):
            logits = model(idx.to(device))
            vocab = check_logits(torch, logits, idx, vocab)
            outputs.append(logits.detach().float().cpu())
    print("speedrun-mark done", flush=True)
    torch.save(torch.cat(outputs), LOGITS_FILE)
    return {"windows": len(windows), "vocab": vocab}


def check_logits(torch, logits, idx, vocab):
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        fail(f"model(idx) returned {type(logits).__name__}, not a float tensor of logits "
             "(the contract: model(idx) returns logits of shape (B, T, vocab))")
    if logits.dim() != 3 or tuple(logits.shape[:2]) != tuple(idx.shape) or (vocab and logits.size(2) != vocab):
        fail(f"model(idx) returned shape {tuple(logits.shape)} for idx {tuple(idx.shape)}; "
             "the contract is logits of shape (B, T, vocab)")
    return logits.size(2)


def build_model(script_path):
    """Run the script's top-level statements up to its first `model = ...`; their namespace."""
    with open(script_path) as f:
        tree = ast.parse(f.read(), filename=script_path)
    cut = next((i for i, node in enumerate(tree.body) if assigns_model(node)), None)
    if cut is None:
        fail("train.py has no top-level `model = ...` to evaluate")
    prefix = ast.Module(body=tree.body[: cut + 1], type_ignores=[])
    namespace = {"__name__": "__main__", "__file__": script_path}
    sys.argv = [script_path]
    exec(compile(prefix, script_path, "exec"), namespace)
    if "model" not in namespace or not hasattr(namespace["model"], "parameters"):
        fail("train.py's top-level `model` is not a torch module")
    return namespace


def assigns_model(node):
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == "model" for t in node.targets)
    return isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "model"


def report(payload):
    return RESULT_PREFIX + json.dumps(payload)


def fail(message):
    print(report({"error": message}), flush=True)
    sys.exit(3)


if __name__ == "__main__":
    print(report(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))), flush=True)
