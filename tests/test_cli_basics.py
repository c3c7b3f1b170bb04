import subprocess
import sys

from speedrun_tui.cli import main


def test_version_prints_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert "speedrun-tui 0.1.0" in capsys.readouterr().out


def test_help_imports_neither_torch_nor_litellm():
    code = (
        "import sys; from speedrun_tui.cli import build_parser; build_parser().format_help();"
        "print(sorted(m for m in ('torch', 'litellm', 'textual') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
