"""Micro record 1: an llm.c-style GPT-2, trained on Shakespeare's bytes.

Learned position embeddings, LayerNorm, GELU, a head tied to the token embedding,
AdamW with linear warmup and cosine decay. Only the learning rate (4e-3) and the
run length are tuned for this scale: llm.c's 6e-4 stalls a 4-layer, 128-wide model.

Prints modded-nanogpt log lines; `train_time` excludes validation. Run settings
come from SPEEDRUN_* environment variables (see records/micro/README.md).
"""

import math
import os
import time
import warnings
from dataclasses import dataclass

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


# -----------------------------------------------------------------------------
# Hyperparameters


@dataclass
class Hyperparameters:
    vocab_size: int = 256  # byte-level tokens
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 128
    seq_len: int = 256
    batch_size: int = 16
    num_iterations: int = 1200
    warmup_iters: int = 50
    learning_rate: float = 4e-3
    min_lr_frac: float = 0.1
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    val_tokens: int = 16384
    val_every: int = 10


@dataclass
class RunSettings:
    """What the harness passes in through the environment."""

    train_bin: str = os.environ.get("SPEEDRUN_TRAIN_BIN", "data/micro/micro_train_000001.bin")
    val_bin: str = os.environ.get("SPEEDRUN_VAL_BIN", "data/micro/micro_val_000000.bin")
    seed: int = int(os.environ.get("SPEEDRUN_SEED", "0"))
    device: str = os.environ.get("SPEEDRUN_DEVICE", "cuda" if torch.cuda.is_available() else "cpu")
    threads: int = int(os.environ.get("SPEEDRUN_THREADS", "0"))  # 0: torch's default
    target_loss: float = float(os.environ.get("SPEEDRUN_TARGET_LOSS", "0"))  # 0: run all steps
    max_steps: int = int(os.environ.get("SPEEDRUN_MAX_STEPS", "0"))  # 0: the full schedule
    save_model: str = os.environ.get("SPEEDRUN_SAVE_MODEL", "")
    clock: str = os.environ.get("SPEEDRUN_CLOCK", "")  # cpu (process time) or wall


args = Hyperparameters()
run = RunSettings()
if run.max_steps:
    args.num_iterations = min(args.num_iterations, run.max_steps)
    args.warmup_iters = min(args.warmup_iters, args.num_iterations // 4)
if run.threads:
    torch.set_num_threads(run.threads)
torch.manual_seed(run.seed)
device = torch.device(run.device)

# -----------------------------------------------------------------------------
# Data: modded-nanogpt .bin shards (256 int32 header, then uint16 tokens)


def load_tokens(path):
    with open(path, "rb") as f:
        header = torch.frombuffer(bytearray(f.read(256 * 4)), dtype=torch.int32)
        assert header[0] == 20240520 and header[1] == 1, f"{path} is not a token shard"
        tokens = torch.frombuffer(bytearray(f.read()), dtype=torch.uint16)
    assert len(tokens) == header[2], f"{path} is truncated"
    return tokens.to(torch.int64)


class BatchSampler:
    """Random windows of the training tokens, in an order fixed by the seed."""

    def __init__(self, tokens, batch_size, seq_len, seed):
        self.tokens, self.batch_size, self.seq_len = tokens, batch_size, seq_len
        self.rng = torch.Generator().manual_seed(seed)

    def next_batch(self):
        starts = torch.randint(len(self.tokens) - self.seq_len - 1, (self.batch_size,), generator=self.rng)
        windows = torch.stack([self.tokens[s : s + self.seq_len + 1] for s in starts.tolist()])
        return windows[:, :-1].to(device), windows[:, 1:].to(device)


train_tokens = load_tokens(run.train_bin)
val_tokens = load_tokens(run.val_bin)[: args.val_tokens + 1]
sampler = BatchSampler(train_tokens, args.batch_size, args.seq_len, run.seed)

# -----------------------------------------------------------------------------
# Model: GPT-2


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_head):
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(d_model, 3 * d_model)
        self.c_proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self, d_model):
        super().__init__()
        self.c_fc = nn.Linear(d_model, 4 * d_model)
        self.c_proj = nn.Linear(4 * d_model, d_model)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, d_model, n_head):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_head)
        self.ln_2 = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.wte = nn.Embedding(a.vocab_size, a.d_model)
        self.wpe = nn.Embedding(a.seq_len, a.d_model)
        self.blocks = nn.ModuleList([Block(a.d_model, a.n_head) for _ in range(a.n_layer)])
        self.ln_f = nn.LayerNorm(a.d_model)
        self.lm_head = nn.Linear(a.d_model, a.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as in GPT-2
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # GPT-2's scaled init of residual projections
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * a.n_layer))

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx, targets=None):
        pos = torch.arange(idx.size(1), device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:  # the harness's contract: model(idx) returns the logits
            return logits
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))


model = GPT(args).to(device)

# -----------------------------------------------------------------------------
# Optimizer: AdamW (weight decay on matrices only), warmup then cosine decay

decay = [p for p in model.parameters() if p.dim() >= 2]
no_decay = [p for p in model.parameters() if p.dim() < 2]
optimizer = torch.optim.AdamW(
    [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
    lr=args.learning_rate, betas=(0.9, 0.95), eps=1e-8,
)


def get_lr(step):
    if step < args.warmup_iters:
        return args.learning_rate * (step + 1) / args.warmup_iters
    progress = (step - args.warmup_iters) / max(1, args.num_iterations - args.warmup_iters)
    min_lr = args.learning_rate * args.min_lr_frac
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (args.learning_rate - min_lr)


# -----------------------------------------------------------------------------
# Evaluation and the clock


@torch.no_grad()
def evaluate():
    model.eval()
    windows = val_tokens[: len(val_tokens) - 1].view(-1, args.seq_len)
    targets = val_tokens[1:].view(-1, args.seq_len)
    losses = [model(x.to(device), y.to(device)).item()
              for x, y in zip(windows.split(args.batch_size), targets.split(args.batch_size))]
    model.train()
    return sum(losses) / len(losses)


class Stopwatch:
    """Training time on two clocks, paused during validation; the log reports `kind`.

    Process CPU time on CPU: other jobs on a shared machine barely move it, while
    they stretch wall time. Synchronized wall time on GPU. Both are printed at the end.
    """

    def __init__(self, kind):
        self.kind, self.spent, self.started = kind, {"cpu": 0.0, "wall": 0.0}, None

    def now(self):
        if device.type == "cuda":
            torch.cuda.synchronize()
        return {"cpu": time.process_time(), "wall": time.perf_counter()}

    def start(self):
        self.started = self.now()

    def stop(self):
        now = self.now()
        for kind in self.spent:
            self.spent[kind] += now[kind] - self.started[kind]
        self.started = None

    def ms(self, kind=None):
        kind = kind or self.kind
        running = self.now()[kind] - self.started[kind] if self.started else 0.0
        return 1000 * (self.spent[kind] + running)


watch = Stopwatch(run.clock or ("wall" if device.type == "cuda" else "cpu"))
n_params = sum(p.numel() for p in model.parameters())
print(f"micro record 1 | params {n_params:,} | device {device} | threads {torch.get_num_threads()} | seed {run.seed}")

# -----------------------------------------------------------------------------
# Training loop

watch.start()
for step in range(args.num_iterations + 1):
    last_step = step == args.num_iterations
    if last_step or step % args.val_every == 0:
        watch.stop()
        val_loss = evaluate()
        train_ms = watch.ms()
        print(f"step:{step}/{args.num_iterations} val_loss:{val_loss:.4f} "
              f"train_time:{train_ms:.0f}ms step_avg:{train_ms / max(step, 1):.2f}ms", flush=True)
        if val_loss <= run.target_loss:
            break
        watch.start()
    if last_step:
        break
    x, y = sampler.next_batch()
    loss = model(x, y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
    for group in optimizer.param_groups:
        group["lr"] = get_lr(step)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    now_ms = watch.ms()
    print(f"step:{step + 1}/{args.num_iterations} train_loss:{loss.item():.4f} "
          f"train_time:{now_ms:.0f}ms step_avg:{now_ms / (step + 1):.2f}ms", flush=True)

print(f"clocks: train_time_cpu:{watch.ms('cpu'):.0f}ms train_time_wall:{watch.ms('wall'):.0f}ms", flush=True)
if run.save_model:
    torch.save(model.state_dict(), run.save_model)
