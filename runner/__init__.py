"""runner/: run one candidate training script and tell exactly what happened."""
