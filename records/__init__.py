"""records/: the task catalog (micro track built in, nanogpt imported), hints, reference diffs, data prep."""
