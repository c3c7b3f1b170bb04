"""Which variables a candidate may see, and the command line it is started with."""

from pathlib import Path

import pytest

from runner.childenv import child_env, is_secret
from runner.launch import build_command
from runner.spec import RunSpec


@pytest.mark.parametrize("name", [
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "FOO_TOKEN", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "GITHUB_TOKEN",
    "MY_SECRET", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "AZURE_API_BASE",
    "AZURE_OPENAI_ENDPOINT", "OPENAI_API_BASE", "OPENAI_BASE_URL", "LITELLM_PROXY_API_BASE",
    "LITELLM_MASTER_KEY", "GOOGLE_APPLICATION_CREDENTIALS", "VERTEXAI_PROJECT", "DB_PASSWORD",
    "SSH_AUTH_SOCK", "openai_api_key", "DATABASE_URL", "API_BASE",
])
def test_secrets_and_provider_settings_are_dropped(name):
    assert is_secret(name)


@pytest.mark.parametrize("name", [
    "PATH", "HOME", "LANG", "USER", "TMPDIR", "OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "PYTHONPATH",
    "TOKENIZERS_PARALLELISM", "SLURM_JOB_ID", "MASTER_ADDR", "SPEEDRUN_TUI_HOME", "HF_HOME", "TORCH_HOME",
    "NCCL_DEBUG", "KEYBOARD_LAYOUT",
])
def test_ordinary_variables_stay(name):
    assert not is_secret(name)


def test_child_env_adds_spec_env_and_unbuffers_python(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    env = child_env(RunSpec(script=Path("t.py"), env={"OMP_NUM_THREADS": "1", "EXTRA_TOKEN": "t"}))
    assert env["OMP_NUM_THREADS"] == "1" and env["PYTHONUNBUFFERED"] == "1"
    assert "OPENAI_API_KEY" not in env and "EXTRA_TOKEN" not in env
    assert env["PATH"]


def test_python_and_torchrun_commands():
    script = Path("/w/train.py")
    assert build_command(RunSpec(script=script, python="/py", args=["--x"]), script) == ["/py", "/w/train.py", "--x"]
    spec = RunSpec(script=script, python="/py", launcher="torchrun", nproc_per_node=8)
    assert build_command(spec, script) == ["/py", "-m", "torch.distributed.run", "--standalone",
                                           "--nproc_per_node=8", "/w/train.py"]


def test_torchrun_defaults_to_the_visible_gpus():
    spec = RunSpec(script=Path("t.py"), python="/py", launcher="torchrun", env={"CUDA_VISIBLE_DEVICES": "0,3"})
    assert "--nproc_per_node=2" in build_command(spec, Path("t.py"))
