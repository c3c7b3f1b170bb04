"""The environment a candidate script runs with: ours, minus every secret.

The candidate is model-written code, so it must not see API keys, tokens, or the
endpoints and credentials litellm and cloud SDKs read. A name is dropped when one
of its `_`-separated words marks a secret (KEY, TOKEN, SECRET, PASSWORD, ...) or
when it belongs to a model provider or credential store (OPENAI_*, AZURE_*, AWS_*,
LITELLM_*, ...). PATH, HOME, LANG, CUDA_*, OMP_*, SLURM_* and the like stay.
"""

from __future__ import annotations

import os

from runner.spec import RunSpec

_SECRET_WORDS = frozenset({
    "KEY", "APIKEY", "TOKEN", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "PASS",
    "CREDENTIAL", "CREDENTIALS", "AUTH", "AUTHORIZATION", "COOKIE", "SESSIONID",
})

# Providers litellm (and the SDKs it wraps) configure from the environment.
_PROVIDER_PREFIXES = (
    "OPENAI_", "AZURE_", "ANTHROPIC_", "AWS_", "BEDROCK_", "SAGEMAKER_", "LITELLM_",
    "VERTEX_", "VERTEXAI_", "GOOGLE_", "GEMINI_", "PALM_", "COHERE_", "CO_API_", "MISTRAL_",
    "GROQ_", "TOGETHER_", "TOGETHERAI_", "DEEPSEEK_", "XAI_", "OPENROUTER_", "OR_",
    "REPLICATE_", "HUGGINGFACE_", "HUGGING_FACE_", "FIREWORKS_", "FIREWORKS_AI_",
    "DATABRICKS_", "WATSONX_", "WX_", "PERPLEXITY_", "PERPLEXITYAI_", "ANYSCALE_",
    "OLLAMA_", "CEREBRAS_", "SAMBANOVA_", "NVIDIA_NIM_", "VOYAGE_", "AI21_", "NLP_CLOUD_",
    "ALEPH_ALPHA_", "CLOUDFLARE_", "DASHSCOPE_", "MOONSHOT_", "QWEN_", "NOVITA_",
    "LANGFUSE_", "LANGSMITH_", "HELICONE_", "DATABASE_", "REDIS_", "SMTP_", "GITHUB_",
)
_SECRET_NAMES = frozenset({"HF_TOKEN", "DATABASE_URL", "REDIS_URL", "API_BASE", "NETRC"})


def is_secret(name: str) -> bool:
    upper = name.upper()
    if upper in _SECRET_NAMES or upper.startswith(_PROVIDER_PREFIXES):
        return True
    return any(word in _SECRET_WORDS for word in upper.split("_"))


def child_env(spec: RunSpec) -> dict[str, str]:
    """Our environment plus spec.env, secrets removed, Python output line-buffered."""
    env = {k: v for k, v in os.environ.items() if not is_secret(k)}
    env.update({k: v for k, v in spec.env.items() if not is_secret(k)})
    env["PYTHONUNBUFFERED"] = "1"  # live lines: the child must not sit on a 8 KiB buffer
    return env
