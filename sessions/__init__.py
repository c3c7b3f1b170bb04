"""sessions/: the SQLite store of events, nodes and blobs; replay; scoring."""
