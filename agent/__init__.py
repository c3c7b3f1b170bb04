"""agent/: LLM client, prompts, edit blocks, scaffolds, and the session controller."""
