"""CLI of the real benchmark track: `import nanogpt`, `data fineweb` (`import trajectory`: sessions/commands.py).

Registered from records/commands.py. Imports stay light: handlers import what they need.
"""

from __future__ import annotations

from pathlib import Path

from speedrun_tui.home import add_db_argument


def register_import(sub) -> None:
    parser = sub.add_parser("import", help="import the nanogpt records, or a past agent run from elsewhere")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    p = kinds.add_parser("nanogpt", help="build the nanogpt tracks from a local modded-nanogpt checkout",
                         description="Read both of the checkout's README record tables (124M and GPT-2 Medium) "
                         "and each record's log (code and measured time): one task per transition, the paper's "
                         "19 marked as the benchmark; with --hints, add llm-speedrunner's hints and start-code "
                         "templates to those. Writes $SPEEDRUN_TUI_HOME/catalog/nanogpt.json; shows in `tasks`.")
    p.add_argument("path", type=Path, help="a checkout of KellerJordan/modded-nanogpt")
    p.add_argument("--hints", type=Path, metavar="PATH", help="a checkout of facebookresearch/llm-speedrunner")
    p.add_argument("--times", choices=("paper", "github"), default="paper",
                   help="the benchmark tasks' times: the paper's re-measured means (paper, default) or the "
                   "records' own logs, else the README (github); other tasks take the README's")
    p.set_defaults(handler=_import_nanogpt)


def register_data_fineweb(sources) -> None:
    p = sources.add_parser("fineweb", help="FineWeb10B GPT-2 token shards for the nanogpt track",
                           description="Download kjj0/fineweb10B-gpt2 shards with huggingface_hub (resumable, "
                           "each verified), or link shards already on disk with --from.")
    p.add_argument("--shards", type=int, metavar="N",
                   help="train shards of 100M tokens (default: all 103 for a download, every one found "
                   "for --from); the val shard always comes along")
    p.add_argument("--from", dest="source", type=Path, metavar="DIR", help="link verified shards from DIR")
    p.set_defaults(handler=_data_fineweb)


def _import_nanogpt(args) -> int:
    from records.nanogpt_catalog import catalog_file, import_nanogpt

    catalog = import_nanogpt(args.path, args.hints, args.times)
    for record in catalog["records"]:
        print(_record_line(record))
    for track in dict.fromkeys(t["track"] for t in catalog["tasks"]):
        tasks = [t for t in catalog["tasks"] if t["track"] == track]
        ready = sum(t["available"] for t in tasks)
        bench = sum(t["benchmark"] for t in tasks)
        print(f"{track}: {len(tasks)} tasks ({bench} of the benchmark), {ready} available")
    print(f"wrote {catalog_file()}")
    for task in catalog["tasks"]:
        if not task["available"]:
            print(f"  {task['id']}: unavailable: {task['unavailable_reason']}")
    return 0


def _record_line(record: dict) -> str:
    name = f"{record['track']} record {record['number']:>2}" + (" (re-timing)" if record["retiming"] else "")
    where = f"code from {record['code_source']}" if record["code_source"] else "no code"
    measured = "no measured time"
    if record["measured_time_s"]:
        runs = f", mean of {record['runs']} runs" if record["runs"] > 1 else ""
        measured = f"{record['measured_time_s']:.1f}s measured{runs}"
    note = f"  [{record['reason']}]" if record["reason"] else ""
    return f"{name}: {where}, {measured}{note}"


def _data_fineweb(args) -> int:
    from records.fineweb import DEFAULT_TRAIN_SHARDS, download, link_from

    if args.source is not None:
        folder = link_from(args.source, args.shards)
    else:
        folder = download(args.shards or DEFAULT_TRAIN_SHARDS)
    print(f"FineWeb shards ready in {folder}")
    return 0
