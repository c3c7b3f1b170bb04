"""Every hyperparameter value a micro hint names matches the code of the rung it describes.

A hint of transition k -> k+1 (records/micro/hints/<k>_to_<k+1>/{pseudocode,text,paper}.md) is
checked against the Hyperparameters dataclass of rung k+1's train.py, and against rung k's for a
value it gives as the old one ("was 16", "instead of B = 16", the 0.02 of "Muon 0.02 -> 0.03").

What the check reads, in a unit of text (a line of a code block, a paragraph of prose):
- a field's own name: `muon_lr = 0.02`, `batch_size: 8`, `warmup_iters 50`;
- a learning rate: `lr = V`, `learning rate (of) V`, owned by the last optimizer or parameter-group
  word before it in its unit (Muon, Adam, embedding, head, scalar), else any learning rate of the rung;
- a change `WORD V1 -> V2`, WORD naming the field (Muon, embedding, head, scalars, run length);
  a change it cannot place fails the test, so a new kind of hint grows the table below;
- Muon's momentum: `momentum (=) V`, `mu = V`, a warmup `from V1 to V2`, `V1 + (V2 - V1)`,
  `min(step / N, 1)`, `over the first N steps`;
- the logit softcap `C * tanh(z / C)`; the batch `B = V` and `V sequences of L bytes`;
  the warmup `warms up ... for N steps`.
What it cannot read: numbers inside formulas with no name (`W -= 0.02 * s * X`), constants that
are not Hyperparameters fields (Adam's betas, the rotary base, Newton-Schulz coefficients) and
results (the step the target is reached at, times). Those stay a reviewer's job.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass

import pytest

from records.ladder import HINT_FILES, RUNGS, hints_dir, rung

# A number, not a piece of one ("1.5x" is a factor, "0.0" is not inside "0.05").
NUM = r"(?<![\w.])(\d+(?:\.\d+)?(?:e-?\d+)?)(?!\w|\.\d)"
# Owners of a learning rate, and the fields that may hold it (the first the rung has).
LR_OWNERS = {"muon": ("muon_lr",), "adam": ("adam_lr", "learning_rate"),
             "embedding": ("embed_lr", "adam_lr", "learning_rate"),
             "head": ("head_lr", "adam_lr", "learning_rate"), "scalar": ("scalar_lr",)}
LR_OWNER = re.compile(r"\b(muon|adam)w?\b|\b(embedding|head|scalar)s?\b", re.I)
# What the word before a change `V1 -> V2` names; None: not a hyperparameter ("Rung 2 -> 3").
CHANGED = {"muon": "muon_lr", "embedding": "embed_lr", "head": "head_lr", "scalars": "scalar_lr",
           "run length": "num_iterations", "rung": None}
MOMENTA = ("muon_momentum", "muon_momentum_start")
# A value given as the old one, in rung k's code.
OLD = re.compile(r"\b(?:was|instead of)\s*(?:B\s*=\s*)?$")
SENTENCE = r"(?:(?!\.\s).)*?"  # the rest of a sentence: no full stop on the way


@dataclass(frozen=True)
class Claim:
    file: str  # e.g. 02_to_03/text.md
    phrase: str  # the text the value was read from
    value: float
    fields: tuple[str, ...]  # Hyperparameters fields any of which may hold it
    rung: int  # whose train.py must hold it


def hyperparameters(number: int) -> dict[str, float]:
    """The Hyperparameters dataclass of rung `number`'s train.py, read without running it."""
    tree = ast.parse(rung(number).script.read_text())
    cls = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Hyperparameters")
    return {stmt.target.id: ast.literal_eval(stmt.value) for stmt in cls.body if isinstance(stmt, ast.AnnAssign)}


def units(markdown: str) -> list[str]:
    """Code blocks line by line, prose paragraph by paragraph (joined onto one line)."""
    found = []
    for i, part in enumerate(markdown.split("```")):
        if i % 2:
            found += part.splitlines()
        else:
            found += [" ".join(para.split()) for para in re.split(r"\n\s*\n", part)]
    return [unit for unit in found if unit.strip()]


def lr_fields(hp: dict[str, float]) -> tuple[str, ...]:
    return tuple(name for name in hp if name.endswith("_lr") or name == "learning_rate")


def readings(unit: str, hp: dict[str, float]) -> list[tuple[re.Match, int, tuple[str, ...], bool]]:
    """(match, group, fields, old) for every value `unit` names; old: the start rung's value."""
    found = []

    def add(regex: str, *fields: tuple[str, ...], flags: int = re.I) -> None:
        for match in re.finditer(regex, unit, flags):
            for group, names in enumerate(fields, start=1):
                old = bool(OLD.search(unit[:match.start(group)]))
                found.append((match, group, names, old))

    for name in hp:
        add(rf"\b{name}\b\s*[=:]?\s*{NUM}", (name,), flags=0)
    for match in re.finditer(rf"(?:\blr\b\s*=|learning rate(?: of)?)\s*(?:about\s*)?{NUM}", unit, re.I):
        owners = LR_OWNER.findall(unit[:match.start()])
        word = next((w for w in owners[-1] if w), "").lower() if owners else ""
        names = LR_OWNERS[word] if word else lr_fields(hp)
        found.append((match, 1, tuple(n for n in names if n in hp)[:1] or names, False))
    add(rf"\b(?:momentum|mu)\b\s*[=:]?\s*{NUM}(?!\s*[-+*/])", MOMENTA)
    add(rf"momentum{SENTENCE}\bfrom {NUM} to {NUM}", ("muon_momentum_start",), ("muon_momentum",))
    add(rf"(?:momentum\S*|\bmu\(t\))\s*=\s*{NUM}\s*\+", ("muon_momentum_start",))
    add(rf"{NUM}\s*\+\s*\(\s*{NUM}\s*-\s*{NUM}\s*\)", ("muon_momentum_start",), ("muon_momentum",),
        ("muon_momentum_start",))
    add(rf"(?:momentum|mu\(t\)){SENTENCE}(?:min\(\s*\w+\s*/\s*|over the first ){NUM}", ("momentum_warmup_iters",))
    add(rf"{NUM}\s*\*?\s*tanh\(.*?/\s*{NUM}\s*\)", ("logit_softcap",), ("logit_softcap",))
    add(rf"\bB\s*=\s*{NUM}", ("batch_size",), flags=0)
    add(rf"{NUM} sequences of {NUM} bytes", ("batch_size",), ("seq_len",))
    add(rf"warms? up{SENTENCE} for {NUM} steps", ("warmup_iters",))
    return found


def changes(unit: str) -> list[tuple[str, str | None, float, float]]:
    """(phrase, field, old, new) for each `WORD V1 -> V2`; field "?" when WORD names nothing known."""
    found = []
    for match in re.finditer(rf"([a-z][a-z ]*?)\s*{NUM}\s*->\s*{NUM}", unit, re.I):
        words = match.group(1).lower()
        key = next((k for k in CHANGED if words.endswith(k)), None)
        field = CHANGED[key] if key is not None else "?"
        found.append((match.group(0), field, float(match.group(2)), float(match.group(3))))
    return found


def claims(k: int) -> list[Claim]:
    """What the three hints of transition k -> k+1 say about rung k's and rung k+1's hyperparameters."""
    hp = {**hyperparameters(k), **hyperparameters(k + 1)}
    found = []
    for file in HINT_FILES.values():
        name = f"{hints_dir(k).name}/{file}"
        for unit in units((hints_dir(k) / file).read_text()):
            for match, group, fields, old in readings(unit, hp):
                found.append(Claim(name, match.group(0), float(match.group(group)), fields, k if old else k + 1))
            for phrase, field, before, after in changes(unit):
                if field is not None:
                    found += [Claim(name, phrase, before, (field,), k), Claim(name, phrase, after, (field,), k + 1)]
    return found


def problem(claim: Claim) -> str | None:
    """Why `claim` disagrees with its rung's code; None when one of its fields holds the value."""
    hp = hyperparameters(claim.rung)
    held = {name: hp[name] for name in claim.fields if name in hp}
    if any(math.isclose(claim.value, value, rel_tol=1e-9) for value in held.values()):
        return None
    where = f"{rung(claim.rung).slug}/train.py"
    if not held:
        return (f"{claim.file}: {claim.phrase!r} names {', '.join(claim.fields)}, which {where} does not have; "
                "teach this test what it names")
    return f"{claim.file}: {claim.phrase!r} says {claim.value:g}; {where} has " + \
        ", ".join(f"{name} = {value:g}" for name, value in held.items())


TRANSITIONS = range(1, len(RUNGS))


@pytest.mark.parametrize("k", TRANSITIONS, ids=lambda k: hints_dir(k).name)
def test_every_value_a_hint_names_is_the_one_in_the_code(k):
    problems = [p for p in map(problem, claims(k)) if p]
    assert problems == [], "\n".join(problems)


def test_the_check_reads_what_the_hints_name():
    """Not vacuous: the values each kind of phrase names are found where the hints name them."""
    read = {(c.file, field, c.rung) for k in TRANSITIONS for c in claims(k) for field in c.fields}
    for file in HINT_FILES.values():
        assert (f"02_to_03/{file}", "muon_lr", 3) in read  # "lr = ...", "a learning rate of ..."
        assert (f"02_to_03/{file}", "muon_momentum", 3) in read
        assert (f"05_to_06/{file}", "logit_softcap", 6) in read
        assert (f"05_to_06/{file}", "muon_momentum_start", 6) in read
        assert (f"05_to_06/{file}", "momentum_warmup_iters", 6) in read
    for field in ("muon_lr", "embed_lr", "head_lr", "scalar_lr", "num_iterations"):
        assert {("06_to_07/pseudocode.md", field, 6), ("06_to_07/pseudocode.md", field, 7)} <= read
    assert {("01_to_02/pseudocode.md", "learning_rate", 2), ("01_to_02/pseudocode.md", "weight_decay", 2),
            ("01_to_02/paper.md", "warmup_iters", 2), ("07_to_08/pseudocode.md", "batch_size", 7),
            ("07_to_08/paper.md", "batch_size", 7), ("07_to_08/text.md", "batch_size", 8)} <= read


def test_a_wrong_muon_learning_rate_is_caught_in_each_way_a_hint_says_it():
    hp = hyperparameters(3)
    for text in ("Muon(block matrices, lr = 0.05, momentum = 0.95)", "Muon is scaled by a learning rate of 0.05.",
                 "muon_lr = 0.05", "raise the rates: Muon 0.02 -> 0.05"):
        values = [float(m.group(g)) for unit in units(text) for m, g, fields, _ in readings(unit, hp)
                  if "muon_lr" in fields] + [new for unit in units(text) for *_, new in changes(unit)]
        assert 0.05 in values, text

