"""Human mode's workspace: a train.py the person edits in their own editor.

A watchdog observer flags every save (editors that write a temp file and rename it
included); the controller reads the file, shows the diff and runs it on request.
"""

from __future__ import annotations

import threading
from pathlib import Path

FILE_NAME = "train.py"


class Workspace:
    def __init__(self, folder: Path, code: str):
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        self.folder = folder
        self.path = folder / FILE_NAME
        self.saved = threading.Event()
        folder.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():  # a resumed session keeps the person's unsaved-to-a-node work
            self.path.write_text(code)
        saved = self.saved

        class OnSave(FileSystemEventHandler):
            def on_any_event(self, event):
                if event.event_type not in ("modified", "created", "moved", "closed"):
                    return
                touched = {Path(str(event.src_path)).name, Path(str(getattr(event, "dest_path", "") or "")).name}
                if FILE_NAME in touched:
                    saved.set()

        self._observer = Observer()
        self._observer.schedule(OnSave(), str(folder), recursive=False)
        self._observer.start()

    def read(self) -> str:
        try:
            return self.path.read_text()
        except (OSError, UnicodeDecodeError):  # mid-save or removed: the next save tells again
            return ""

    def write(self, code: str) -> None:
        self.path.write_text(code)

    def close(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
