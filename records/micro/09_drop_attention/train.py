"""Micro record 9: the last block drops its attention.

Mirrors modded-nanogpt record #17, whose 12-layer model removed the 8th block's
attention. Here the last of the 4 blocks keeps only its MLP: no QKV projection, no
attention and no output projection, so each step costs less (fewer FLOPs and fewer
matrices for Muon), while the other blocks' attention and the U-net shortcuts carry
what it did; the steps to the target barely change.

Prints modded-nanogpt log lines; `train_time` excludes validation. Run settings
come from SPEEDRUN_* environment variables (see records/micro/README.md).
"""

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
    batch_size: int = 8
    num_iterations: int = 300
    warmup_iters: int = 50
    cooldown_iters: int = 120
    embed_lr: float = 6e-2
    head_lr: float = 6e-3
    muon_lr: float = 0.04
    muon_momentum: float = 0.95
    muon_momentum_start: float = 0.85
    momentum_warmup_iters: int = 300
    scalar_lr: float = 2e-2
    logit_softcap: float = 30.0
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
    args.cooldown_iters = min(args.cooldown_iters, args.num_iterations // 2)
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
# Model: GPT-2 with rotary embeddings, RMSNorm, QK-norm and ReLU^2


def norm(x):
    return F.rms_norm(x, (x.size(-1),))


class Rotary(nn.Module):
    """Rotates pairs of a head's channels by an angle that grows with the position."""

    def __init__(self, head_dim, seq_len, base=10000.0):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2).float() / head_dim))
        angles = torch.outer(torch.arange(seq_len).float(), inv_freq)
        self.register_buffer("cos", angles.cos()[None, None], persistent=False)
        self.register_buffer("sin", angles.sin()[None, None], persistent=False)

    def forward(self, x):  # x: (B, n_head, T, head_dim)
        T = x.size(2)
        cos, sin = self.cos[:, :, :T], self.sin[:, :, :T]
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat((x1 * cos + x2 * sin, x2 * cos - x1 * sin), dim=-1)


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_head, seq_len):
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(d_model, 3 * d_model, bias=False)
        self.c_proj = nn.Linear(d_model, d_model, bias=False)
        self.rotary = Rotary(d_model // n_head, seq_len)
        self.value_mix = nn.Parameter(torch.tensor(0.5))

    def forward(self, x, v1):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        v1 = v if v1 is None else v1  # the first layer's values, shared with every later layer
        v = (1 - self.value_mix) * v + self.value_mix * v1
        q, k = self.rotary(norm(q)), self.rotary(norm(k))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)), v1


class MLP(nn.Module):
    def __init__(self, d_model):
        super().__init__()
        self.c_fc = nn.Linear(d_model, 4 * d_model, bias=False)
        self.c_proj = nn.Linear(4 * d_model, d_model, bias=False)

    def forward(self, x):
        return self.c_proj(F.relu(self.c_fc(x)).square())


class Block(nn.Module):
    def __init__(self, d_model, n_head, seq_len, has_attn=True):
        super().__init__()
        self.attn = CausalSelfAttention(d_model, n_head, seq_len) if has_attn else None
        self.mlp = MLP(d_model)
        self.embed_mix = nn.Parameter(torch.tensor([1.0, 0.0]))

    def forward(self, x, v1, x0):
        x = self.embed_mix[0] * x + self.embed_mix[1] * x0  # shortcut from the embedding
        if self.attn is not None:
            y, v1 = self.attn(norm(x), v1)
            x = x + y
        return x + self.mlp(norm(x)), v1


class GPT(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.wte = nn.Embedding(a.vocab_size, a.d_model)
        self.blocks = nn.ModuleList([Block(a.d_model, a.n_head, a.seq_len, has_attn=i < a.n_layer - 1)
                                     for i in range(a.n_layer)])
        self.n_encoder = a.n_layer // 2
        self.skip_weights = nn.Parameter(torch.ones(a.n_layer - self.n_encoder))
        self.lm_head = nn.Linear(a.d_model, a.vocab_size, bias=False)
        self.apply(self._init_weights)
        nn.init.zeros_(self.lm_head.weight)  # untied: predicts uniform bytes at first
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # each block starts as the identity
                nn.init.zeros_(p)

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        x = x0 = norm(self.wte(idx))
        v1, skips = None, []
        for i, block in enumerate(self.blocks):
            if i >= self.n_encoder:  # decoder: add the mirrored encoder output back
                x = x + self.skip_weights[i - self.n_encoder] * skips.pop()
            x, v1 = block(x, v1, x0)
            if i < self.n_encoder:
                skips.append(x)
        logits = self.lm_head(norm(x))
        logits = args.logit_softcap * torch.tanh(logits / args.logit_softcap)
        if targets is None:  # the harness's contract: model(idx) returns the logits
            return logits
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))


model = GPT(args).to(device)

# -----------------------------------------------------------------------------
# Optimizers: Muon for the blocks' matrices, Adam for the rest; trapezoidal schedule


def newton_schulz5(G, steps=5, eps=1e-7):
    """Approximately orthogonalize G (push its singular values towards 1) with a quintic iteration."""
    a, b, c = 3.4445, -4.7750, 2.0315
    X = G / (G.norm() + eps)
    tall = X.size(0) > X.size(1)
    if tall:
        X = X.T
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X.T if tall else X


class Muon(torch.optim.Optimizer):
    """MomentUm Orthogonalized by Newton-schulz: Nesterov SGD whose 2-D updates are orthogonalized."""

    def __init__(self, params, lr, momentum=0.95, ns_steps=5):
        super().__init__(params, dict(lr=lr, momentum=momentum, ns_steps=ns_steps))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if "momentum" not in state:
                    state["momentum"] = torch.zeros_like(p.grad)
                buf = state["momentum"]
                buf.mul_(group["momentum"]).add_(p.grad)
                update = p.grad.add(buf, alpha=group["momentum"])  # Nesterov
                update = newton_schulz5(update, group["ns_steps"])
                scale = max(1.0, p.size(0) / p.size(1)) ** 0.5
                p.add_(update, alpha=-group["lr"] * scale)


hidden_matrices = [p for p in model.blocks.parameters() if p.dim() == 2]
adam_groups = [
    dict(params=[model.wte.weight], lr=args.embed_lr),
    dict(params=[model.lm_head.weight], lr=args.head_lr),
    dict(params=[p for p in model.parameters() if p.dim() < 2], lr=args.scalar_lr),
]
optimizers = [
    torch.optim.Adam(adam_groups, betas=(0.9, 0.95), eps=1e-8),
    Muon(hidden_matrices, lr=args.muon_lr, momentum=args.muon_momentum),
]
for opt in optimizers:
    for group in opt.param_groups:
        group["initial_lr"] = group["lr"]


def lr_scale(step):
    if step < args.warmup_iters:
        return (step + 1) / args.warmup_iters
    return min(1.0, (args.num_iterations - step) / args.cooldown_iters)


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
print(f"micro record 9 | params {n_params:,} | device {device} | threads {torch.get_num_threads()} | seed {run.seed}")

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
    warm = min(step / args.momentum_warmup_iters, 1.0)
    for group in optimizers[1].param_groups:
        group["momentum"] = (1 - warm) * args.muon_momentum_start + warm * args.muon_momentum
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = group["initial_lr"] * lr_scale(step)
        opt.step()
    model.zero_grad(set_to_none=True)
    now_ms = watch.ms()
    print(f"step:{step + 1}/{args.num_iterations} train_loss:{loss.item():.4f} "
          f"train_time:{now_ms:.0f}ms step_avg:{now_ms / (step + 1):.2f}ms", flush=True)

print(f"clocks: train_time_cpu:{watch.ms('cpu'):.0f}ms train_time_wall:{watch.ms('wall'):.0f}ms", flush=True)
if run.save_model:
    torch.save(model.state_dict(), run.save_model)
