"""nanogpt-style runs: torchrun launch (on CPU here), the hardware string, data through env and link."""

import os
import stat

from records.fineweb import run_env
from records.shards import write_shard
from runner.local import run_local
from runner.spec import RunSpec
from runner.torchrun import DATA_LINK, hardware_string
from runner_helpers import write_script

RANKED = """
import os
rank, world = os.environ["RANK"], os.environ["WORLD_SIZE"]
if rank == "0":  # like the records: only the master process prints the log
    print(f"world:{world}")
    print("step:0/10 val_loss:4.0000 train_time:0ms step_avg:nanms", flush=True)
    print("step:10/10 val_loss:3.2000 train_time:321ms step_avg:32.10ms", flush=True)
"""


def test_torchrun_launches_n_ranks_and_the_rank0_log_is_parsed(tmp_path):
    script = write_script(tmp_path, "train_gpt2.py", RANKED)
    result = run_local(RunSpec(script=script, target_loss=3.28, launcher="torchrun", nproc_per_node=2,
                               env={"OMP_NUM_THREADS": "1"}, timeout_s=120))
    assert result.status == "ok" and result.time_to_target_ms == 321.0
    assert "world:2" in open(os.path.join(result.workdir, "run.log")).read()
    assert result.hardware == "cpu x1 threads"  # no GPU here: says so, rather than naming one


def test_hardware_names_the_visible_gpus_and_their_count(tmp_path, monkeypatch):
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho '0, GPU-aaa, NVIDIA H100 80GB HBM3'\necho '1, GPU-bbb, NVIDIA H100 80GB HBM3'\n"
                    "echo '2, GPU-ccc, NVIDIA A100-SXM4-40GB'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    spec = RunSpec(script=fake, launcher="torchrun", env={"CUDA_VISIBLE_DEVICES": "0,1"})
    assert hardware_string(spec) == "NVIDIA H100 80GB HBM3 x2"
    spec.env["CUDA_VISIBLE_DEVICES"] = "GPU-ccc,1"
    assert hardware_string(spec) == "NVIDIA A100-SXM4-40GB x1 + NVIDIA H100 80GB HBM3 x1"
    spec.env["CUDA_VISIBLE_DEVICES"] = "0,1"
    spec.nproc_per_node = 1
    assert hardware_string(spec) == "NVIDIA H100 80GB HBM3 x1"


def test_a_run_reaches_fineweb_through_env_and_the_linked_data_folder(tmp_path):
    shards = tmp_path / "fineweb10B"
    write_shard(shards / "fineweb_val_000000.bin", [1, 2, 3])
    write_shard(shards / "fineweb_train_000001.bin", [4, 5, 6, 7])
    script = write_script(tmp_path, "train_gpt2.py", """
        import glob, os
        relative = sorted(glob.glob("data/fineweb10B/fineweb_train_*.bin"))  # the records' own paths
        from_env = sorted(glob.glob(os.environ["NANOGPT_VAL_FILES"]))      # llm-speedrunner's templates
        print(relative, [os.path.basename(p) for p in from_env], os.environ["NANOGPT_VAL_TOKENS"])
        """)
    result = run_local(RunSpec(script=script, env=run_env(shards)))
    assert result.exit_code == 0
    assert os.path.realpath(os.path.join(result.workdir, DATA_LINK)) == str(shards.resolve())
    log = open(os.path.join(result.workdir, "run.log")).read()
    assert "['data/fineweb10B/fineweb_train_000001.bin'] ['fineweb_val_000000.bin'] 10485760" in log
