import sys

from speedrun_tui.cli import main

sys.exit(main())
