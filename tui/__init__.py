"""tui/: the Textual app and the plain prompt-toolkit mode. Renders state; owns no business logic."""
