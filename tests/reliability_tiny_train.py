"""A tiny byte-level model for the reliability tests: trains to a loose target in seconds, saves its model."""
import os
import time
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Hyperparameters:
    vocab_size: int = 256
    d_model: int = 32
    seq_len: int = 32
    batch_size: int = 16
    num_iterations: int = 400
    lr: float = 1e-2
    val_tokens: int = 2048
    val_every: int = 10


args = Hyperparameters()
val_bin = os.environ["SPEEDRUN_VAL_BIN"]
target_loss = float(os.environ.get("SPEEDRUN_TARGET_LOSS", "0"))
torch.manual_seed(int(os.environ.get("SPEEDRUN_SEED", "0")))
torch.set_num_threads(1)


def load_tokens(path):
    with open(path, "rb") as f:
        f.read(256 * 4)
        return torch.frombuffer(bytearray(f.read()), dtype=torch.uint16).to(torch.int64)


train_tokens = load_tokens(os.environ["SPEEDRUN_TRAIN_BIN"])
val_tokens = load_tokens(val_bin)[: args.val_tokens + 1]


class Bigram(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.wte = nn.Embedding(a.vocab_size, a.d_model)
        self.mlp = nn.Sequential(nn.Linear(a.d_model, 4 * a.d_model), nn.GELU(), nn.Linear(4 * a.d_model, a.d_model))
        self.head = nn.Linear(a.d_model, a.vocab_size)

    def forward(self, idx, targets=None):
        x = self.wte(idx)
        logits = self.head(x + self.mlp(x))
        if targets is None:  # the harness's contract: model(idx) returns the logits
            return logits
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))


model = Bigram(args)
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)


@torch.no_grad()
def evaluate():
    x = val_tokens[:-1].view(-1, args.seq_len)
    y = val_tokens[1:].view(-1, args.seq_len)
    return model(x, y).item()


train_ms = 0.0
for step in range(args.num_iterations + 1):
    if step % args.val_every == 0 or step == args.num_iterations:
        val_loss = evaluate()
        print(f"step:{step}/{args.num_iterations} val_loss:{val_loss:.4f} train_time:{train_ms:.0f}ms "
              f"step_avg:{train_ms / max(step, 1):.2f}ms", flush=True)
        if val_loss <= target_loss or step == args.num_iterations:
            break
    t0 = time.perf_counter()
    starts = torch.randint(len(train_tokens) - args.seq_len - 1, (args.batch_size,))
    batch = torch.stack([train_tokens[s : s + args.seq_len + 1] for s in starts.tolist()])
    loss = model(batch[:, :-1], batch[:, 1:])
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    train_ms += 1000 * (time.perf_counter() - t0)

if os.environ.get("SPEEDRUN_SAVE_MODEL"):
    torch.save(model.state_dict(), os.environ["SPEEDRUN_SAVE_MODEL"])
