"""The harness's side of the evaluation: losses computed from a model's logits, with targets only it holds.

    python losses.py logits.pt targets.bin key.json

Runs no candidate code. logits.pt is what records/micro/model_logits.py saved (one
float32 tensor, windows x positions x vocab), targets.bin the next tokens of each
window (uint16), key.json which window is which: `kinds` (val, test or probe per
window) and `probe_of` (probe window -> the validation window it copies, whose later
half was replaced by random tokens). Prints one line:

    speedrun-losses {"val_loss": ..., "test_loss": ..., "probe_change": ...}

val_loss and test_loss are the mean cross-entropy (nats per token) over the
validation and held-out windows; probe_change is the largest change of a logit in the
first half of a window when only its later half changed. A causal language model
leaves those logits alone: anything above rounding means the model sees later tokens.
"""

import json
import sys
import warnings

RESULT_PREFIX = "speedrun-losses "


def main(logits_path, targets_path, key_path):
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    import torch

    with open(key_path) as f:
        key = json.load(f)
    kinds, seq_len = key["kinds"], key["seq_len"]
    logits = torch.load(logits_path, weights_only=True)
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape[:2]) != (len(kinds), seq_len):
        return {"error": f"the logits do not cover the {len(kinds)} windows of {seq_len} tokens asked for"}
    if not torch.isfinite(logits).all():
        return {"error": "the model's logits are not all finite"}
    with open(targets_path, "rb") as f:
        targets = torch.frombuffer(bytearray(f.read()), dtype=torch.uint16).to(torch.int64).view(len(kinds), seq_len)
    if int(targets.max()) >= logits.size(2):
        return {"error": f"the model predicts {logits.size(2)} tokens, fewer than the vocabulary"}
    nll = -torch.log_softmax(logits.double(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    result = {kind: float(nll[[i for i, k in enumerate(kinds) if k == kind]].mean())
              for kind in ("val", "test") if kind in kinds}
    half = seq_len // 2
    changes = [float((logits[int(p), :half] - logits[int(v), :half]).abs().max()) for p, v in key["probe_of"].items()]
    return {"val_loss": result.get("val"), "test_loss": result.get("test"),
            "probe_change": max(changes) if changes else None}


if __name__ == "__main__":
    print(RESULT_PREFIX + json.dumps(main(*sys.argv[1:4])), flush=True)
